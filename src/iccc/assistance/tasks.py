"""Background jobs of assistance: the housekeeping tick, for a worker to run every minute."""

from __future__ import annotations

from dataclasses import asdict

from django_tasks import task


@task()
def assistance_tick_task(district_id: int | None = None) -> dict[str, int]:
    """Run `services.tick` once (lapsed offers, breaches, unconfirmed closures); returns its counts."""
    from iccc.assistance.services import tick

    return asdict(tick(district_id=district_id))
