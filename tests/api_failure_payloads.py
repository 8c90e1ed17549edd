"""A failed run and its run_results.json, shared by the failure-report tests."""

from __future__ import annotations

RUN_RESULTS = {
    "results": [
        {
            "unique_id": "model.jaffle_shop.orders",
            "status": "success",
            "execution_time": 1.0,
            "message": "OK",
        },
        {
            "unique_id": "model.jaffle_shop.customers",
            "status": "error",
            "execution_time": 2.5,
            "message": "Database Error\n  relation does not exist",
        },
        {
            "unique_id": "test.jaffle_shop.not_null",
            "status": "fail",
            "execution_time": None,
            "message": "Got 3",
        },
        {"unique_id": "test.jaffle_shop.warned", "status": "warn", "execution_time": 0.1, "message": "w"},
    ]
}
RUN = {
    "id": 7,
    "status": 20,
    "status_humanized": "Error",
    "status_message": "Job failed",
    "href": "https://cloud.example/deploy/1/projects/100/runs/7/",
    "run_steps": [
        {"index": 1, "status": 10, "name": "Clone"},
        {
            "index": 2,
            "status": 20,
            "status_humanized": "Error",
            "name": "Invoke dbt with `dbt build`",
            "duration_humanized": "12s",
            "logs": "line1\nline2\nERROR boom",
        },
    ],
}
