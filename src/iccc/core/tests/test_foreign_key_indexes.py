"""Every foreign key can be checked through an index when the row it points at is deleted.

Both databases check a deleted row's referrers by the referring column (SQLite with
`foreign_keys = ON`, PostgreSQL's RI triggers): without an index whose first column it
is, that check scans the referring table once per deleted row. Removing indexes to make
the import cheaper once turned deleting 5,000 outreach tasks into a 53-second scan
(`parent` pointed at the same table). Parents that are almost never deleted — districts
and zones, replaced in place when geography is reloaded — are the stated exceptions.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models

from iccc.geo.models import District, Zone

RARELY_DELETED = (District, Zone)


def _leading_columns(model: type[models.Model]) -> set[str]:
    meta = model._meta
    leading = {f.name for f in meta.concrete_fields if getattr(f, "db_index", False) or f.unique or f.primary_key}
    for index in meta.indexes:
        if index.fields:
            leading.add(index.fields[0].lstrip("-"))
    for constraint in meta.constraints:
        fields = getattr(constraint, "fields", ())
        if isinstance(constraint, models.UniqueConstraint) and fields:
            leading.add(fields[0])
    for together in meta.unique_together:
        leading.add(together[0])
    return leading


def test_every_foreign_key_is_the_first_column_of_an_index() -> None:
    missing = []
    for model in apps.get_models():
        if not model.__module__.startswith("iccc.") or model._meta.proxy or not model._meta.managed:
            continue
        leading = _leading_columns(model)
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.ForeignKey) or not getattr(field, "db_constraint", True):
                continue
            if issubclass(field.related_model, RARELY_DELETED):
                continue
            if field.name not in leading:
                missing.append(f"{model._meta.label}.{field.name}")
    assert not missing, f"foreign keys without an index to check them on delete: {missing}"


def test_every_declared_index_and_constraint_exists_in_the_database(db: None) -> None:
    # Found the hard way: Django drops a partial unique index when a db_index on its column
    # changes (PostgreSQL), and the migration must put it back; this checks the outcome.
    from django.db import connection

    missing = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if not model.__module__.startswith("iccc.") or model._meta.proxy or not model._meta.managed:
                continue
            present = set(connection.introspection.get_constraints(cursor, model._meta.db_table))
            for item in [*model._meta.indexes, *model._meta.constraints]:
                if isinstance(item, models.CheckConstraint) and connection.vendor == "sqlite":
                    continue  # SQLite does not name CHECK constraints back through introspection
                if item.name not in present:
                    missing.append(f"{model._meta.label}: {item.name}")
    assert not missing, f"declared but missing in the database: {missing}"
