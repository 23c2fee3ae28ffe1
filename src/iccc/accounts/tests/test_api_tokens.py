"""Partner API tokens: issued once, stored hashed, refused with a reason, revoked at once, rate limited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from iccc.accounts import services
from iccc.accounts.models import ApiToken, Role, User
from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.testing.cast import Cast

# Any endpoint that takes both staff sessions and tokens will do; the assistance list is one.
URL = "/api/v1/network/offerings"


def _bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def test_the_raw_token_is_returned_once_and_only_its_hash_is_stored(cast: Cast) -> None:
    token, raw = services.issue_api_token(cast.lead, cast.partner, "dispatch system")
    assert raw.startswith(f"iccc_{token.prefix}_")
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw not in {stored.token_hash, stored.prefix, stored.name}
    assert stored.token_hash == services.hash_api_token(raw)
    row = AuditEntry.objects.get(target_type="accounts.apitoken", action=AuditAction.CREATE)
    assert row.actor_id == cast.lead.pk
    assert raw not in str(row.changes)


def test_a_token_acts_as_a_passwordless_member_of_its_organisation(cast: Cast) -> None:
    token, _raw = services.issue_api_token(cast.lead, cast.hospital, "bed feed")
    actor = User.objects.get(pk=token.actor_id)
    assert (actor.organisation_id, actor.district_id, actor.role) == (
        cast.hospital.pk,
        cast.district.pk,
        Role.FACILITY_STAFF,
    )
    assert not actor.has_usable_password()
    assert not actor.is_staff
    partner_token, _ = services.issue_api_token(cast.lead, cast.partner, "crm")
    assert partner_token.actor.role == Role.PARTNER_STAFF
    # A lead cannot turn the service account into a login.
    with pytest.raises(ValidationError):
        services.set_temporary_password(cast.lead, actor, "partner asked for a login")


def test_only_a_lead_of_the_district_issues_or_revokes(cast: Cast) -> None:
    for user in (cast.operator_a, cast.partner_staff, cast.other_district_lead):
        with pytest.raises(PermissionDenied):
            services.issue_api_token(user, cast.partner, "dispatch system")
    token, _ = services.issue_api_token(cast.lead, cast.partner, "dispatch system")
    with pytest.raises(PermissionDenied):
        services.revoke_api_token(cast.partner_staff, token, "leaked on a group chat")
    with pytest.raises(ValidationError) as err:
        services.issue_api_token(cast.lead, cast.partner, "x")
    assert "name" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.issue_api_token(cast.lead, cast.partner, "dispatch", days=1000)
    assert "days" in err.value.message_dict


def test_a_valid_token_is_accepted_and_its_use_recorded(cast: Cast) -> None:
    token, raw = services.issue_api_token(cast.lead, cast.partner, "dispatch system")
    response = Client().get(URL, headers=_bearer(raw))
    assert response.status_code == 200, response.content
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Bearer nonsense", "unknown token"),
        ("Bearer iccc_deadbeef_" + "x" * 43, "unknown token"),
        (None, "Sign in, or send an API token"),
    ],
)
def test_unknown_malformed_or_missing_tokens_answer_401_with_a_reason(
    cast: Cast, header: str | None, reason: str
) -> None:
    response = Client().get(URL, headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert reason in response.json()["detail"]


def test_an_expired_token_answers_401_saying_so(cast: Cast) -> None:
    past = timezone.now() - timedelta(days=10)
    _token, raw = services.issue_api_token(cast.lead, cast.partner, "old system", days=1, now=past)
    response = Client().get(URL, headers=_bearer(raw))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_revoked_token_is_refused_on_its_next_call(cast: Cast) -> None:
    token, raw = services.issue_api_token(cast.lead, cast.partner, "dispatch system")
    assert Client().get(URL, headers=_bearer(raw)).status_code == 200
    services.revoke_api_token(cast.lead, token, "laptop stolen")
    response = Client().get(URL, headers=_bearer(raw))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert not User.objects.get(pk=token.actor_id).is_active
    assert AuditEntry.objects.filter(target_type="accounts.apitoken", reason="laptop stolen").exists()


def test_a_deactivated_organisation_takes_its_tokens_with_it(cast: Cast) -> None:
    _token, raw = services.issue_api_token(cast.lead, cast.partner, "dispatch system")
    cast.partner.is_active = False
    cast.partner.save(update_fields=["is_active"])
    response = Client().get(URL, headers=_bearer(raw))
    assert response.status_code == 401
    assert "organisation" in response.json()["detail"]


def test_repeated_bad_tokens_from_one_address_are_refused_without_growing_the_log(cast: Cast) -> None:
    _token, raw = services.issue_api_token(cast.lead, cast.partner, "dispatch system")
    client = Client(REMOTE_ADDR="10.9.9.9")
    for i in range(services.API_TOKEN_FAILURE_LIMIT):
        assert client.get(URL, headers=_bearer(f"iccc_{i:08d}_" + "y" * 43)).status_code == 401
    blocked = client.get(URL, headers=_bearer(raw))  # even the right token, from that address
    assert blocked.status_code == 401
    assert "too many failed token attempts" in blocked.json()["detail"]
    failures = AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, target_type=services.API_TOKEN_TARGET_TYPE)
    assert failures.count() == services.API_TOKEN_FAILURE_LIMIT
    assert all("y" * 10 not in (f.target_id + f.reason) for f in failures)  # the secret is never logged
    assert Client(REMOTE_ADDR="10.9.9.10").get(URL, headers=_bearer(raw)).status_code == 200


def test_leads_issue_a_token_in_the_back_office_and_see_it_once(cast: Cast) -> None:
    for lead in (cast.lead, cast.other_district_lead):
        lead.is_staff = True  # as create_staff_user sets it for leads
        lead.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(cast.lead)
    response = client.post(
        "/admin/accounts/apitoken/add/", {"organisation": cast.partner.pk, "name": "dispatch system", "days": 30}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    token = ApiToken.objects.get()
    raw = html.split('id="api-token">', 1)[1].split("<", 1)[0]
    assert services.hash_api_token(raw) == token.token_hash
    page = client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert raw not in page
    client.post(f"/admin/accounts/apitoken/{token.pk}/change/", {"revoke_reason": "partner contract ended"})
    token.refresh_from_db()
    assert token.revoked_at is not None
    # The rival lead of another district does not even see it.
    other = Client()
    other.force_login(cast.other_district_lead)
    assert other.get(f"/admin/accounts/apitoken/{token.pk}/change/").status_code in (302, 404)
