"""Bulk INSERT of prepared rows (tuples in the database's own value form), for the import path.

Django's bulk_create compiles every value of every row in Python; a 100,000-row lab file
would spend most of its time there. The bulk writers (the lab import, its events, the
first-contact tasks made from them) hand plain tuples to `insert_rows`, which picks the
cheapest statement each database offers:

* SQLite: one `executemany` of a prepared INSERT (the engine is in-process; a prepared
  statement re-executed per row is as fast as it gets).
* PostgreSQL: `COPY ... FROM STDIN` (one statement, rows streamed in psycopg's C
  encoder; Django's client-side-binding cursor would otherwise build and the server
  parse and plan one INSERT per row). COPY cannot skip conflicting rows, so with
  `ignore_conflicts` the rows are copied into a bare temporary table (no WAL, no index)
  and moved on with one `INSERT ... SELECT ... ON CONFLICT DO NOTHING`.

Values must already be in the database's form: on SQLite, datetimes through
`connection.ops.adapt_datetimefield_value`, dates as ISO strings, JSON as text; UUIDs as
32 hex digits on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Model

__all__ = ["insert_rows", "insert_sql"]


def _columns(model: type[Model], fields: tuple[str, ...]) -> str:
    qn = connection.ops.quote_name
    return ", ".join(qn(str(getattr(model._meta.get_field(f), "column", f))) for f in fields)


@cache
def insert_sql(model: type[Model], fields: tuple[str, ...], ignore_conflicts: bool = False) -> str:
    """`INSERT INTO table (cols) VALUES (%s, ...)` for `fields` of `model` (names from model meta only)."""
    qn = connection.ops.quote_name
    cols = _columns(model, fields)
    sql = f"INSERT INTO {qn(model._meta.db_table)} ({cols}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    return sql + (" ON CONFLICT DO NOTHING" if ignore_conflicts else "")


@cache
def _copy_sql(model: type[Model], fields: tuple[str, ...]) -> str:
    qn = connection.ops.quote_name
    cols = _columns(model, fields)
    return f"COPY {qn(model._meta.db_table)} ({cols}) FROM STDIN"


@cache
def _staged_sql(model: type[Model], fields: tuple[str, ...]) -> tuple[str, str, str, str]:
    """Statements to COPY into a bare temporary table and move its rows on, skipping conflicts."""
    qn = connection.ops.quote_name
    table = model._meta.db_table
    stage = qn(f"_bulk_{table}")
    cols = _columns(model, fields)
    return (
        f"CREATE TEMPORARY TABLE {stage} AS SELECT {cols} FROM {qn(table)} WITH NO DATA",  # noqa: S608
        f"COPY {stage} ({cols}) FROM STDIN",
        f"INSERT INTO {qn(table)} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT DO NOTHING",  # noqa: S608
        f"DROP TABLE {stage}",
    )


def _copy(cur: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    with cur.cursor.copy(sql) as copy:
        write = copy.write_row
        for row in rows:
            write(row)


def insert_rows(
    model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]], *, ignore_conflicts: bool = False
) -> None:
    """Insert `rows` (one value per field, in order) into `model`'s table in the current transaction."""
    if not rows:
        return
    fields = tuple(fields)
    with connection.cursor() as cur:
        if connection.vendor != "postgresql":
            cur.executemany(insert_sql(model, fields, ignore_conflicts), rows)
        elif ignore_conflicts:
            create, copy, move, drop = _staged_sql(model, fields)
            with transaction.atomic():
                cur.execute(create)
                _copy(cur, copy, rows)
                cur.execute(move)
                cur.execute(drop)
        else:
            _copy(cur, _copy_sql(model, fields), rows)
