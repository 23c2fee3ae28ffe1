"""The call console in a real browser: keys N and 1, the check-in, the next patient; screenshots.

Screenshots go to var/screenshots/outreach-*.png (looked at when the pages change).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from iccc.outreach import services
from iccc.outreach.models import Alert, CallAttempt, CheckIn
from iccc.outreach.tests.support import make_case
from iccc.testing.browser import shot, sign_in
from iccc.testing.cast import Cast, build_cast

pytestmark = [pytest.mark.browser]


@pytest.fixture
def desk(transactional_db: Any) -> Cast:
    """The cast with a few patients waiting in zone A (oldest first) and some history for the supervisor."""
    cast = build_cast()
    cast.district.name_hi = "टेस्टपुर"
    cast.district.save(update_fields=["name_hi"])
    cast.operator_a.first_name, cast.operator_a.last_name = "Priya", "Sharma"
    cast.operator_a.save()
    services.ensure_district_defaults(cast.district.pk)
    now = timezone.now()
    people = [("Asha Devi", 67, 95), ("Mohan Lal", 45, 40), ("Sunita Yadav", 31, 25), ("Arjun Singh", 52, 200)]
    for i, (name, age, minutes) in enumerate(people):
        zone = cast.zone_a if i < 3 else cast.zone_b
        case = make_case(cast.district, zone, name=name, age=age, received_at=now - timedelta(minutes=minutes))
        case.person.address = f"House {12 + i}, Sector 4{i}, Testpur"
        case.person.save(update_fields=["address"])
        services.first_contact_for(case)
    Alert.objects.create(district=cast.district, zone=cast.zone_b, kind="breach",
                         message="First contact past its SLA: Arjun Singh", created_at=now)  # fmt: skip
    return cast


def test_an_operator_works_the_queue_with_the_keyboard(page: Any, desk: Cast) -> None:
    page.set_viewport_size({"width": 1680, "height": 1050})
    sign_in(page, "operator_a")
    page.goto("/outreach/console/")
    page.wait_for_selector("text=3 patients are waiting in your zones")  # nothing claimed yet
    shot(page, "outreach-console-empty")
    page.keyboard.press("n")
    page.wait_for_selector("#patient-name:has-text('Asha Devi')")
    page.fill("input[name=spo2]", "96")
    page.fill("input[name=temperature]", "37.6")
    page.check("input[name=symptoms][value=cough]")
    page.check("input[name=comorbidities][value=diabetes]")
    page.fill("input[name=household_members]", "4")
    page.keyboard.press("Escape")
    shot(page, "outreach-console-wide")
    page.keyboard.press("?")
    page.wait_for_selector("#shortcut-help[open]")
    shot(page, "outreach-console-help")
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    page.wait_for_selector("#patient-name:has-text('Mohan Lal')")
    page.wait_for_selector("text=Recorded for Asha Devi")
    assert CallAttempt.objects.filter(outcome="reached").count() == 1
    checkin = CheckIn.objects.get()
    assert (checkin.spo2, checkin.symptoms, checkin.comorbidities) == (96, ["cough"], ["diabetes"])
    page.click("button.lang-btn[value=hi]")
    page.wait_for_selector("#patient-name:has-text('Mohan Lal')")
    shot(page, "outreach-console-hindi")


def test_impossible_spo2_is_refused_in_the_browser(page: Any, desk: Cast) -> None:
    sign_in(page, "operator_a")
    page.goto("/outreach/console/")
    page.click("button[data-shortcut=n]")
    page.wait_for_selector("#patient-name:has-text('Asha Devi')")
    page.fill("input[name=spo2]", "140")
    page.click("button[data-shortcut='1']")
    page.wait_for_selector("text=is not a possible SpO2 reading")
    assert not CallAttempt.objects.exists()
    shot(page, "outreach-console-refused")


def test_supervisor_and_planner_pages(page: Any, desk: Cast) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    operator = desk.operator_a
    for _ in range(2):
        task = services.claim_next_task(operator)
        assert task is not None
        services.record_call_outcome(operator, task, "reached", idempotency_key=f"shot-{task.pk}")
    sign_in(page, "lead")
    page.goto("/outreach/supervisor/")
    page.wait_for_selector("text=Time to first contact by zone")
    shot(page, "outreach-supervisor")
    page.goto("/outreach/planner/")
    page.fill("input[name=arrivals]", "1000")
    page.fill("input[name=isolated]", "5000")
    page.fill("input[name=agents]", "20")
    page.select_option("select[name=scale]", "0.05")
    page.click("text=Run the plan")
    page.wait_for_selector("text=Simulation and Erlang-C side by side", timeout=120_000)
    shot(page, "outreach-planner")


def test_a_volunteer_sees_visits_on_a_phone(browser: Any, live_server: Any, desk: Cast) -> None:
    parent = services.claim_next_task(desk.operator_a)
    assert parent is not None
    services.record_call_outcome(desk.operator_a, parent, "wrong_number", idempotency_key="shot-wrong")
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    try:
        sign_in(phone, "volunteer_a")
        phone.goto("/outreach/visits/")
        phone.click("text=Start my next visit")
        phone.wait_for_selector("text=Visit in progress")
        phone.click("text=Call via bridge")
        phone.wait_for_selector("text=Ringing your phone")
        body = phone.content()
        assert parent.person.phone[-10:] not in body
        shot(phone, "outreach-visits-phone")
    finally:
        context.close()
