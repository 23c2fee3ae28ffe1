"""Cross-cutting records: the append-only audit log and the domain event log."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from iccc.core.choices import AuditAction


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete an audit row."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("the audit log is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("the audit log is append-only")

    def about(self, target_type: str, target_id: str) -> AuditEntryQuerySet:
        return self.filter(target_type=target_type, target_id=str(target_id))

    def by_actor(self, user_id: int) -> AuditEntryQuerySet:
        return self.filter(actor_id=user_id)


class AuditEntry(models.Model):
    """One thing a person (or the system) did or saw: append-only, hash-chained.

    Answers "who saw or changed person X" and "what did user Y do" (PRIV-2). Each row
    carries the hash of the previous row so that editing or deleting one in the
    database is detectable (`verify_chain`).
    """

    at = models.DateTimeField(_("when (UTC)"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(_("who"), max_length=150, blank=True)
    actor_role = models.CharField(_("role"), max_length=32, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=AuditAction.choices)
    target_type = models.CharField(_("object type"), max_length=64)
    target_id = models.CharField(_("object id"), max_length=64)
    target_label = models.CharField(_("object"), max_length=200, blank=True)
    person_id = models.CharField(
        _("person"), max_length=64, blank=True, db_index=True, help_text=_("the person whose data this touches")
    )
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    row_hash = models.CharField(max_length=64, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "at"]),
            models.Index(fields=["actor", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("the audit log is append-only")

    def compute_hash(self) -> str:
        payload = json.dumps(
            [
                self.prev_hash,
                self.at.isoformat(),
                self.actor_id,
                self.action,
                self.target_type,
                self.target_id,
                self.person_id,
                self.changes,
                self.reason,
                self.request_id,
            ],
            sort_keys=True,
            default=str,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


class Event(models.Model):
    """A domain event (e.g. `case_registered`) kept durably: the outbox other apps read.

    Lower apps publish; higher apps (outreach, dashboard, insight) consume by
    position (`id`) so nothing is lost if a consumer is down when it is written.
    """

    # Consumers read by (name, id), the one index besides the key: a bulk publisher (the lab
    # import, an event per new case) pays for every index on every row.
    name = models.CharField(_("event"), max_length=64)
    occurred_at = models.DateTimeField(_("occurred at"))
    district_id = models.BigIntegerField(_("district"), null=True, blank=True)
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["id"]
        indexes = [models.Index(fields=["name", "id"])]

    def __str__(self) -> str:
        return f"{self.name} {self.subject_type}:{self.subject_id}"
