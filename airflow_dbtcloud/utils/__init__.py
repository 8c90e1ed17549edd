"""Helpers of the run operator and the sensor that need optional packages (OpenLineage)."""
