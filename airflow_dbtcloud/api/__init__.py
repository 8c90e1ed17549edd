"""dbt Cloud API operations written once as flows (no I/O), plus the pure decisions about runs."""
