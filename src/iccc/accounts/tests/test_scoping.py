import pytest
from django.test import Client

from iccc.accounts.models import User
from iccc.testing.cast import Cast


def test_command_lead_sees_staff_of_own_district_only(cast):
    visible = set(User.objects.visible_to(cast.lead))
    assert cast.operator_a in visible
    assert cast.other_district_lead not in visible


def test_operator_sees_only_self_in_staff_list(cast):
    assert list(User.objects.visible_to(cast.operator_a)) == [cast.operator_a]


# ---- Who may open which page (table-driven over the cast) -------------------------------

ALL = (
    "lead",
    "operator_a",
    "operator_b",
    "doctor_a",
    "volunteer_a",
    "partner_staff",
    "rival_staff",
    "facility_staff",
    "analyst",
    "other_district_lead",
)


def _expect(overrides: dict[str, int], default: int) -> dict[str, int]:
    return {name: overrides.get(name, default) for name in ALL}


# (url, expected status per cast member). Leads of another district get their own (empty)
# view of district-level pages, and 404 for people or staff of this district.
PAGES = [
    ("/", _expect({}, 200)),
    ("/accounts/password/", _expect({}, 200)),
    ("/accounts/staff/", _expect({"lead": 200, "other_district_lead": 200}, 403)),
    ("/audit/", _expect({"lead": 200, "other_district_lead": 200}, 403)),
    ("/audit/chain/", _expect({"lead": 200, "other_district_lead": 200}, 403)),
    ("/audit/person/?id={person}", _expect({"lead": 200, "other_district_lead": 404}, 403)),
    ("/audit/user/{operator_a}/", _expect({"lead": 200, "other_district_lead": 404}, 403)),
    ("/audit/user/?user={operator_a}", _expect({"lead": 200, "other_district_lead": 404}, 403)),
    # The admin sends anyone it will not serve to its own login page.
    ("/admin/", _expect({"lead": 200, "other_district_lead": 200}, 302)),
    ("/admin/accounts/user/", _expect({"lead": 200, "other_district_lead": 200}, 302)),
    ("/admin/accounts/user/{operator_a}/change/", _expect({"lead": 200, "other_district_lead": 302}, 302)),
    ("/admin/accounts/organisation/", _expect({"lead": 200, "other_district_lead": 200}, 302)),
    ("/admin/core/auditentry/", _expect({"lead": 200, "other_district_lead": 200}, 302)),
]


@pytest.fixture
def person_id(cast: Cast) -> str:
    from iccc.dashboard.tests.factories import make_case

    return str(make_case(cast.zone_a).person_id)


@pytest.mark.parametrize(("url", "expected"), PAGES, ids=[p[0] for p in PAGES])
def test_each_page_answers_each_role_as_its_scope_says(cast: Cast, person_id: str, url: str, expected: dict) -> None:
    url = url.format(person=person_id, operator_a=cast.operator_a.pk)
    for name, user in cast.users().items():
        if user.role == "command_lead":
            # Leads get the back-office through the service that creates them.
            type(user).objects.filter(pk=user.pk).update(is_staff=True)
        client = Client()
        client.force_login(user)
        status = client.get(url).status_code
        assert status == expected[name], f"{name} got {status} on {url}, expected {expected[name]}"


@pytest.mark.parametrize("url", ["/", "/accounts/password/", "/accounts/staff/", "/audit/", "/audit/chain/"])
def test_anonymous_visitors_are_sent_to_sign_in(db: None, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/") or response["Location"].startswith("/admin/login/")


def test_an_operator_with_a_stray_staff_flag_still_cannot_enter_the_back_office(cast: Cast) -> None:
    type(cast.operator_a).objects.filter(pk=cast.operator_a.pk).update(is_staff=True)
    client = Client()
    client.force_login(cast.operator_a)
    assert client.get("/admin/").status_code == 302


def test_a_lead_sees_only_their_districts_staff_in_the_back_office(cast: Cast) -> None:
    type(cast.lead).objects.filter(pk=cast.lead.pk).update(is_staff=True)
    client = Client()
    client.force_login(cast.lead)
    page = client.get("/admin/accounts/user/").content.decode()
    assert "operator_a" in page
    assert "other_lead" not in page
    assert client.get(f"/admin/accounts/user/{cast.other_district_lead.pk}/change/").status_code == 302


# POST endpoints: only a lead of the same district may reset or deactivate (others: 403/404).
POSTS = [
    ("/accounts/staff/{operator_a}/reset-password/", _expect({"lead": 200, "other_district_lead": 404}, 403)),
    ("/accounts/staff/{operator_a}/deactivate/", _expect({"lead": 302, "other_district_lead": 404}, 403)),
]


@pytest.mark.parametrize(("url", "expected"), POSTS, ids=[p[0] for p in POSTS])
def test_staff_actions_answer_each_role_as_its_scope_says(cast: Cast, url: str, expected: dict) -> None:
    url = url.format(operator_a=cast.operator_a.pk)
    for name, user in cast.users().items():
        if name == "operator_a":
            continue  # the target itself
        client = Client()
        client.force_login(user)
        status = client.post(url, {"reason": "scoping test of staff actions"}).status_code
        assert status == expected[name], f"{name} got {status} on POST {url}, expected {expected[name]}"
        User.objects.filter(pk=cast.operator_a.pk).update(is_active=True)
    assert Client().post(url, {"reason": "anonymous"}).status_code == 302
