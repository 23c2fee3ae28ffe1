"""A few real-browser checks of the shell: sign-in per role, Hindi, a phone, deactivation.

Screenshots go to var/screenshots/ (used in the README and for looking at the pages).
"""

from __future__ import annotations

from typing import Any

import pytest

from iccc.accounts import services
from iccc.dashboard.tests.factories import grant, make_case
from iccc.testing.browser import shot, sign_in
from iccc.testing.cast import Cast, build_cast

pytestmark = [pytest.mark.browser]


@pytest.fixture
def live_cast(transactional_db: Any) -> Cast:
    cast = build_cast()
    cast.district.name_hi = "टेस्टपुर"
    cast.district.save(update_fields=["name_hi"])
    cast.zone_a.name_hi = "पश्चिम"
    cast.zone_a.save(update_fields=["name_hi"])
    cast.lead.first_name, cast.lead.last_name, cast.lead.phone = "Anita", "Rao", "+911242200000"
    cast.lead.is_staff = True  # as create_staff_user does for leads
    cast.lead.save()
    for i, name in enumerate(["Ramesh Kumar", "Sunita Yadav", "Mohd Salim", "Kavita Sharma", "Arjun Singh"]):
        case = make_case(
            cast.zone_a if i % 2 == 0 else cast.zone_b,
            name=name,
            phone=f"+9198{i}1234567",
            received_hours_ago=2 + i * 3,
        )
        if i < 2:
            grant(case.person, user=cast.volunteer_a)
    return cast


def _to_hindi(page: Any) -> None:
    page.click("button.lang-btn[value=hi]")
    page.wait_for_load_state()


def test_each_role_signs_in_to_its_own_home_page(page: Any, live_cast: Cast) -> None:
    _shot_login(page)
    expected = {
        "lead": "District overview",
        "operator_a": "Operator's desk",
        "doctor_a": "Doctor's desk",
        "volunteer_a": "My people",
        "partner_staff": "MyUpchar",
        "facility_staff": "Civil Hospital",
        "analyst": "District figures",
    }
    for username, heading in expected.items():
        sign_in(page, username)
        assert page.locator("h1").first.inner_text() == heading, username
        if username == "lead":
            shot(page, "lead-home-en")
            _to_hindi(page)
            assert page.locator("h1").first.inner_text() == "ज़िले का सारांश"
            assert "टेस्टपुर" in page.locator(".brand-district").inner_text()
            shot(page, "lead-home-hi")
            page.click("button.lang-btn[value=en]")
            page.wait_for_load_state()
        page.click(".logout-form button")
        page.wait_for_url("**/accounts/login/")


def _shot_login(page: Any) -> None:
    page.goto("/accounts/login/")
    shot(page, "login-en")
    _to_hindi(page)
    assert "साइन इन" in page.locator("h1").inner_text()
    shot(page, "login-hi")
    page.click("button.lang-btn[value=en]")
    page.wait_for_load_state()


def test_a_volunteer_on_a_phone_sees_their_people_as_cards_and_a_collapsed_menu(
    browser: Any, live_server: Any, live_cast: Cast
) -> None:
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    try:
        sign_in(page, "volunteer_a")
        assert page.locator("#sidenav").is_hidden()
        page.click(".nav-toggle")
        assert page.locator("#sidenav").is_visible()
        page.click(".nav-toggle")
        assert "Ramesh Kumar" in page.content()
        assert "••••••" in page.content()
        # No horizontal scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "volunteer-home-phone-en")
        _to_hindi(page)
        assert page.locator("h1").first.inner_text() == "मेरे लोग"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "volunteer-home-phone-hi")
    finally:
        context.close()


def test_a_deactivated_user_is_thrown_out_on_their_next_request(page: Any, live_cast: Cast) -> None:
    sign_in(page, "operator_a")
    services.deactivate_user(live_cast.lead, live_cast.operator_a, "left the command centre")
    page.reload()
    assert "/accounts/login/" in page.url


def test_pages_load_nothing_blocked_by_the_content_security_policy(page: Any, live_cast: Cast) -> None:
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    sign_in(page, "lead")
    page.goto("/audit/")
    page.click("#audit-chain button")
    page.wait_for_selector("#audit-chain .notice")  # loaded by htmx
    assert "Intact" in page.locator("#audit-chain").inner_text()
    assert violations == []


def test_the_overview_refreshes_itself_without_reloading_the_page(page: Any, live_cast: Cast) -> None:
    sign_in(page, "lead")
    assert page.locator("#stat-active").inner_text() == "5"
    make_case(live_cast.zone_b, name="Late Arrival")
    # Trigger the minute's refresh now rather than waiting for it.
    page.evaluate("htmx.ajax('GET', location.pathname, {target: '#live', select: '#live', swap: 'outerHTML'})")
    page.wait_for_function("document.querySelector('#stat-active').textContent.trim() === '6'")
