"""Searching the whole Airflow metadata DB for a value that must not be stored anywhere."""

from __future__ import annotations


def metadata_rows_containing(text: str) -> list[str]:
    """Every table of the metadata DB whose rows hold ``text`` anywhere in their values.

    :param text: What to look for (a secret that must be nowhere).
    :return: ``"table: row"`` for each row that holds it, shortened.
    """
    from airflow.utils.session import create_session
    from sqlalchemy import inspect
    from sqlalchemy import text as sql

    hits: list[str] = []
    with create_session() as session:
        for table in inspect(session.get_bind()).get_table_names():
            for row in session.execute(sql(f'SELECT * FROM "{table}"')):  # noqa: S608 - names from the DB
                shown = repr(tuple(row))
                if text in shown or text.encode() in b"".join(v for v in row if isinstance(v, bytes)):
                    hits.append(f"{table}: {shown[:200]}")
    return hits
