"""The registry back-office: leads only, scoped to their district, reads audited, phones masked."""

from __future__ import annotations

import pytest
from django.urls import reverse

from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.registry.tests.factories import make_person

PHONE = "+919876543210"


@pytest.fixture
def asha(cast):
    for user in (cast.lead, cast.other_district_lead, cast.operator_a):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return make_person(cast.district, cast.zone_a, "Asha Sharma", phone=PHONE)


def test_the_person_list_masks_phones_and_is_scoped(client, cast, asha):
    client.force_login(cast.lead)
    html = client.get(reverse("admin:registry_person_changelist")).content.decode()
    assert "Asha Sharma" in html
    assert "+91 98xxxxxx10" in html
    assert PHONE not in html
    client.force_login(cast.other_district_lead)
    assert "Asha Sharma" not in client.get(reverse("admin:registry_person_changelist")).content.decode()


def test_opening_a_person_in_the_back_office_is_an_audited_read(client, cast, asha):
    client.force_login(cast.lead)
    response = client.get(reverse("admin:registry_person_change", args=[asha.pk]))
    assert response.status_code == 200
    assert PHONE not in response.content.decode()
    entry = AuditEntry.objects.get(action=AuditAction.READ, person_id=str(asha.pk))
    assert (entry.actor, entry.reason) == (cast.lead, "back-office")


def test_a_lead_of_another_district_gets_nothing_for_the_person(client, cast, asha):
    client.force_login(cast.other_district_lead)
    response = client.get(reverse("admin:registry_person_change", args=[asha.pk]))
    assert response.status_code in (302, 404)
    assert not AuditEntry.objects.filter(action=AuditAction.READ, person_id=str(asha.pk)).exists()


def test_operators_are_kept_out_of_the_registry_back_office(client, cast, asha):
    client.force_login(cast.operator_a)
    response = client.get(reverse("admin:registry_person_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_nothing_can_be_added_or_deleted_from_the_back_office(client, cast, asha):
    client.force_login(cast.lead)
    assert client.get(reverse("admin:registry_person_add")).status_code == 403
    assert client.get(reverse("admin:registry_person_delete", args=[asha.pk])).status_code == 403
