"""Glue logic shared by the operators, the sensor and the trigger."""
