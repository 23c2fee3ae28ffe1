"""Background jobs of the insight app: recompute a district's analyses, on demand or when due.

There is no scheduler inside the app: `iccc insight-refresh --due` (cron, or the demo's loop
every few minutes) enqueues or runs the districts whose last run is older than their
`InsightSettings.refresh_minutes`; staff ask for a refresh from the analyst page or the API.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django_tasks import task

from iccc.insight.models import RunTrigger


@task()
def refresh_insight_task(
    district_id: int, as_of: str | None = None, trigger: str = RunTrigger.SCHEDULE, user_id: int | None = None
) -> dict[str, Any]:
    """Compute and store the district's analyses; returns the run's id, status and duration."""
    from iccc.accounts.models import User
    from iccc.geo.models import District
    from iccc.insight.services import compute_insight

    district = District.objects.get(pk=district_id)
    actor = User.objects.filter(pk=user_id).first() if user_id else None
    run = compute_insight(district, as_of=date.fromisoformat(as_of) if as_of else None, trigger=trigger, actor=actor)
    return {"run": run.pk, "status": run.status, "duration_ms": run.duration_ms, "as_of": str(run.as_of)}


@task()
def refresh_due_task() -> list[dict[str, Any]]:
    """Recompute every district that is due (see `services.districts_due`)."""
    from iccc.insight.services import compute_insight, districts_due

    out = []
    for district in districts_due():
        run = compute_insight(district, trigger=RunTrigger.SCHEDULE)
        out.append({"district": district.code, "run": run.pk, "status": run.status})
    return out
