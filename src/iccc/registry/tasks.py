"""Background jobs of the registry: running an uploaded line list."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation
from django_tasks import task

from iccc.registry.models import ImportBatch, ImportStatus


@task()
def run_import_task(batch_id: int, language: str = "") -> dict[str, Any]:
    """Run a queued import batch; the page polls the batch's `rows_done` for progress.

    The row errors are stored as text, in `language`: the language of the page the file was
    uploaded from, so the person who uploaded it reads the report in their own language.
    """
    from iccc.registry.services import run_import

    batch = ImportBatch.objects.select_related("district", "uploaded_by").get(pk=batch_id)
    if batch.status == ImportStatus.DONE:
        return dict(batch.summary)  # a task delivered twice must not import twice (it would be a no-op anyway)
    with translation.override(language or settings.LANGUAGE_CODE):
        return run_import(batch).counts()
