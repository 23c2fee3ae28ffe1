import pytest
from django.db import DatabaseError, connection, transaction

from iccc.core import audit, context
from iccc.core.choices import AuditAction
from iccc.core.models import AppendOnlyError, AuditEntry


def test_record_captures_actor_role_request_and_changes(cast):
    with context.bind(request_id="req-12345678", ip="10.0.0.1"):
        entry = audit.record(
            cast.operator_a,
            AuditAction.UPDATE,
            cast.zone_a,
            changes=audit.diff({"name": "West"}, {"name": "West zone"}),
            reason="renamed",
        )
    entry.refresh_from_db()
    assert entry.actor == cast.operator_a
    assert entry.actor_role == "operator"
    assert entry.request_id == "req-12345678"
    assert entry.changes == {"name": ["West", "West zone"]}
    assert entry.target_type == "geo.zone"
    assert entry.at.tzinfo is not None


def test_audit_rows_cannot_be_changed_or_deleted(cast):
    entry = audit.record(cast.lead, AuditAction.READ, cast.zone_a)
    entry.reason = "tampered"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


def test_the_database_refuses_to_update_audit_rows(cast):
    entry = audit.record(cast.lead, AuditAction.READ, cast.zone_a)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE core_auditentry SET reason = 'forged' WHERE id = %s", [entry.pk])


def test_hash_chain_detects_a_row_edited_by_someone_who_bypassed_the_trigger(cast):
    first = audit.record(cast.lead, AuditAction.READ, cast.zone_a)
    audit.record(cast.lead, AuditAction.READ, cast.zone_b)
    assert audit.verify_chain() is None
    with connection.cursor() as cur:
        # A database superuser can drop the trigger; the hash chain still gives them away.
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL session_replication_role = replica")
        else:
            cur.execute("DROP TRIGGER core_auditentry_append_only")
        cur.execute("UPDATE core_auditentry SET reason = 'forged' WHERE id = %s", [first.pk])
    assert audit.verify_chain() == first.pk


def test_system_actions_are_recorded_without_a_user(db):
    entry = audit.record(None, AuditAction.IMPORT, target_type="registry.importbatch", target_id="1")
    assert entry.actor is None
    assert entry.actor_label == "system"


def test_who_saw_person_and_what_user_did_are_answered_from_the_log(cast):
    audit.record(cast.operator_a, AuditAction.READ, target_type="registry.person", target_id="p1", person_id="p1")
    audit.record(cast.doctor_a, AuditAction.READ, target_type="registry.person", target_id="p1", person_id="p1")
    audit.record(cast.operator_a, AuditAction.READ, target_type="registry.person", target_id="p2", person_id="p2")
    who_saw_p1 = set(AuditEntry.objects.filter(person_id="p1").values_list("actor__username", flat=True))
    assert who_saw_p1 == {"operator_a", "doctor_a"}
    assert AuditEntry.objects.by_actor(cast.operator_a.pk).count() == 2
