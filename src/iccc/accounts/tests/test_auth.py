import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from iccc.accounts import services
from iccc.accounts.models import Role, User
from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.testing.cast import Cast

PASSWORD = "correct horse battery"


def _login(client: Client, username: str, password: str = PASSWORD, ip: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_signing_in_lands_on_home_and_is_audited(cast: Cast) -> None:
    client = Client()
    response = _login(client, "operator_a")
    assert response.status_code == 302
    assert response["Location"] == "/"
    row = AuditEntry.objects.get(action=AuditAction.LOGIN)
    assert row.actor_id == cast.operator_a.pk
    assert row.ip == "10.0.0.1"


def test_a_failed_sign_in_is_audited_with_the_attempted_username(cast: Cast) -> None:
    response = _login(Client(), "operator_a", "wrong password")
    assert response.status_code == 200
    assert "not right" in response.content.decode()
    row = AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED)
    assert row.target_id == "operator_a"
    assert row.actor_id is None


def test_ten_failures_lock_that_username_from_that_address_for_a_while(cast: Cast) -> None:
    client = Client()
    for _ in range(services.LOGIN_FAILURE_LIMIT):
        _login(client, "operator_a", "wrong password")
    refused = _login(client, "operator_a")  # even the right password
    assert refused.status_code == 200
    assert "Too many failed sign-ins" in refused.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.LOGIN).exists()
    # Blocked attempts do not grow the log.
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED).count() == services.LOGIN_FAILURE_LIMIT
    # Another address, or another username, is not affected.
    assert _login(Client(), "operator_a", ip="10.0.0.2").status_code == 302
    assert _login(Client(), "operator_b").status_code == 302


def test_signing_out_needs_a_post_and_is_audited(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.doctor_a)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action=AuditAction.LOGOUT, actor=cast.doctor_a).exists()
    assert client.get("/").status_code == 302


def test_a_lead_sets_a_temporary_password_which_must_be_changed_at_sign_in(cast: Cast) -> None:
    temp = services.set_temporary_password(cast.lead, cast.operator_a, "forgot password, checked by phone")
    row = AuditEntry.objects.get(action=AuditAction.UPDATE, target_id=str(cast.operator_a.pk))
    assert row.reason == "forgot password, checked by phone"
    assert temp not in str(row.changes)

    client = Client()
    assert _login(client, "operator_a", temp).status_code == 302
    assert client.get("/")["Location"] == "/accounts/password/"
    assert client.get("/audit/")["Location"] == "/accounts/password/"
    response = client.post(
        "/accounts/password/",
        {"old_password": temp, "new_password1": "a much better secret 42", "new_password2": "a much better secret 42"},
    )
    assert response.status_code == 302
    cast.operator_a.refresh_from_db()
    assert not cast.operator_a.must_change_password
    assert client.get("/").status_code == 200


def test_only_a_lead_of_the_same_district_or_a_superuser_resets_passwords(cast: Cast) -> None:
    with pytest.raises(PermissionDenied):
        services.set_temporary_password(cast.other_district_lead, cast.operator_a, "not my district")
    with pytest.raises(PermissionDenied):
        services.set_temporary_password(cast.operator_b, cast.operator_a, "colleague asked me")
    with pytest.raises(ValidationError):
        services.set_temporary_password(cast.lead, cast.operator_a, "")


def test_the_staff_page_shows_a_temporary_password_once_and_demands_a_reason(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.lead)
    refused = client.post(f"/accounts/staff/{cast.operator_a.pk}/reset-password/", {"reason": ""})
    assert refused.status_code == 302
    cast.operator_a.refresh_from_db()
    assert not cast.operator_a.must_change_password
    response = client.post(f"/accounts/staff/{cast.operator_a.pk}/reset-password/", {"reason": "locked out at 2am"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    cast.operator_a.refresh_from_db()
    assert cast.operator_a.must_change_password
    # Not another district's staff.
    assert (
        client.post(f"/accounts/staff/{cast.other_district_lead.pk}/reset-password/", {"reason": "x" * 10}).status_code
        == 404
    )


def test_a_deactivated_user_is_thrown_out_on_their_next_request(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.volunteer_a)
    assert client.get("/").status_code == 200
    lead = Client()
    lead.force_login(cast.lead)
    lead.post(f"/accounts/staff/{cast.volunteer_a.pk}/deactivate/", {"reason": "left the volunteer group"})
    assert client.get("/").status_code == 302
    assert AuditEntry.objects.filter(target_id=str(cast.volunteer_a.pk), changes__is_active=[True, False]).exists()


def test_a_lead_cannot_deactivate_themselves(cast: Cast) -> None:
    with pytest.raises(ValidationError):
        services.deactivate_user(cast.lead, cast.lead, "testing the system")


def test_creating_staff_gives_the_back_office_to_leads_only_and_stays_in_the_district(cast: Cast) -> None:
    lead2 = services.create_staff_user(
        cast.lead, username="lead2", password=PASSWORD, role=Role.COMMAND_LEAD, district=cast.district
    )
    op = services.create_staff_user(
        cast.lead, username="op3", password=PASSWORD, role=Role.OPERATOR, district=cast.district, zones=[cast.zone_b]
    )
    assert lead2.is_staff
    assert not op.is_staff
    assert op.must_change_password
    assert list(op.zones.all()) == [cast.zone_b]
    with pytest.raises(PermissionDenied):
        services.create_staff_user(
            cast.lead, username="x", password=PASSWORD, role=Role.OPERATOR, district=cast.other_district_lead.district
        )
    with pytest.raises(ValidationError):
        services.create_staff_user(
            cast.lead, username="op3", password=PASSWORD, role=Role.OPERATOR, district=cast.district
        )
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, target_id=str(op.pk)).exists()


def test_a_lead_cannot_make_a_superuser_through_the_back_office(cast: Cast) -> None:
    User.objects.filter(pk=cast.lead.pk).update(is_staff=True)
    client = Client()
    client.force_login(cast.lead)
    page = client.get(f"/admin/accounts/user/{cast.operator_a.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page
    assert 'name="district"' not in page


def test_the_audit_log_cannot_be_edited_in_the_back_office(cast: Cast) -> None:
    User.objects.filter(pk=cast.lead.pk).update(is_staff=True)
    services.record_login(cast.operator_a)
    entry = AuditEntry.objects.get()
    client = Client()
    client.force_login(cast.lead)
    assert client.get("/admin/core/auditentry/add/").status_code == 403
    page = client.get(f"/admin/core/auditentry/{entry.pk}/change/")
    assert page.status_code == 200
    assert 'type="submit"' not in page.content.decode() or "Save" not in page.content.decode()
    assert client.post(f"/admin/core/auditentry/{entry.pk}/delete/").status_code == 403


def test_a_lead_adds_staff_in_the_back_office_only_to_their_own_district(cast: Cast) -> None:
    User.objects.filter(pk=cast.lead.pk).update(is_staff=True)
    client = Client()
    client.force_login(cast.lead)
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "new_operator",
            "password1": "a long enough secret 9",
            "password2": "a long enough secret 9",
            "role": "command_lead",
            "organisation": cast.dc_office.pk,
            "zones": [cast.zone_a.pk],
            "district": cast.other_district_lead.district_id,  # ignored: not offered to a lead
            "is_superuser": "on",  # ignored likewise
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="new_operator")
    assert user.district_id == cast.district.pk
    assert not user.is_superuser
    assert user.is_staff  # a lead gets the back-office
    assert user.must_change_password
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, target_id=str(user.pk), actor=cast.lead).exists()
    # Zones of another district are not offered.
    page = client.get("/admin/accounts/user/add/").content.decode()
    zone_select = page.split('<select name="zones"')[1].split("</select>")[0]
    offered = set(re.findall(r'value="(\d+)"', zone_select))
    assert offered == {str(cast.zone_a.pk), str(cast.zone_b.pk)}


def test_the_back_office_password_change_goes_to_the_audited_page(cast: Cast) -> None:
    User.objects.filter(pk=cast.lead.pk).update(is_staff=True)
    client = Client()
    client.force_login(cast.lead)
    assert client.get("/admin/password_change/")["Location"] == "/accounts/password/"
    assert client.get(f"/admin/accounts/user/{cast.operator_a.pk}/password/")["Location"] == "/accounts/staff/"


def test_signing_in_uses_the_accounts_language_unless_one_was_picked_on_this_device(cast: Cast) -> None:
    User.objects.filter(pk=cast.volunteer_a.pk).update(preferred_language="hi")
    client = Client()
    response = _login(client, "volunteer_a")
    assert response.cookies["django_language"].value == "hi"
    chosen = Client()
    chosen.cookies["django_language"] = "en"
    assert "django_language" not in _login(chosen, "volunteer_a").cookies


def test_a_lead_deactivates_on_the_staff_page_not_in_the_back_office(cast: Cast) -> None:
    User.objects.filter(pk=cast.lead.pk).update(is_staff=True)
    client = Client()
    client.force_login(cast.lead)
    page = client.get(f"/admin/accounts/user/{cast.operator_a.pk}/change/").content.decode()
    assert 'name="is_active"' not in page
