"""The back-office shows the geography read-only: files are the source, loading is audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from iccc.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["district", "zone", "locality", "placealias"])
def test_admin_lists_the_geography_and_allows_no_edits(gurugram, client, model):
    admin = User.objects.create_superuser(username="root", password="x" * 12)
    client.force_login(admin)
    response = client.get(reverse(f"admin:geo_{model}_changelist"))
    assert response.status_code == 200
    assert client.get(reverse(f"admin:geo_{model}_add")).status_code == 403


def test_a_command_lead_sees_only_their_districts_zones_and_others_see_nothing(cast, client):
    cast.lead.is_staff = True  # as accounts.services.create_staff gives a lead
    cast.lead.save(update_fields=["is_staff"])
    client.force_login(cast.lead)
    page = client.get(reverse("admin:geo_zone_changelist"))
    assert page.status_code == 200
    assert set(page.context["cl"].queryset.values_list("district__code", flat=True)) == {"testpur"}
    client.force_login(cast.operator_a)
    assert client.get(reverse("admin:geo_zone_changelist")).status_code in (302, 403)
