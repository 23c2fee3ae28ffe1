"""A request for help end to end in a real browser: the operator raises it, it routes, the partner
(on a phone) accepts and delivers, the operator takes the code from the requester, the timeline
shows every step. Screenshots go to var/screenshots/assistance-*.png (looked at when pages change).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from iccc.assistance.models import RequestState, ServiceRequest
from iccc.assistance.tests.factories import last_code, offer, routed
from iccc.network.models import ServiceOffering
from iccc.testing.browser import shot, sign_in
from iccc.testing.cast import Cast, build_cast

pytestmark = [pytest.mark.browser]


@pytest.fixture
def desk(transactional_db: Any) -> Cast:
    """The cast, with food from the partner (zone A) and the rival (zone B), beds from the hospital."""
    cast = build_cast()
    cast.district.name_hi = "टेस्टपुर"
    cast.district.save(update_fields=["name_hi"])
    for user, (first, last) in ((cast.operator_a, ("Priya", "Sharma")), (cast.partner_staff, ("Imran", "Khan"))):
        user.first_name, user.last_name = first, last
        user.save()
    offer(cast, cast.partner, "food", zones=[cast.zone_a], contact_name="MyUpchar kitchen desk")
    offer(cast, cast.rival_partner, "food", zones=[cast.zone_b])
    offer(cast, cast.hospital, "hospital_bed", variants=["general", "icu"], capacity=8)
    return cast


def _phone(browser: Any, live_server: Any) -> Any:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True)
    return context, context.new_page()


def test_a_request_from_raise_to_confirmed_closure(page: Any, browser: Any, live_server: Any, desk: Cast) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    sign_in(page, "operator_a")
    page.goto("/assistance/new/")
    page.select_option("select[name=kind]", "food")
    assert page.is_visible("fieldset.kind-fields[data-kind=food]")
    assert not page.is_visible("fieldset.kind-fields[data-kind=hospital_bed]")  # only the chosen service's fields
    page.fill("input[name=d_food_people]", "4")
    page.fill("input[name=d_food_days]", "7")
    page.select_option("select[name=d_food_diet]", "jain")
    page.fill("input[name=patient_name]", "Kamla Devi")
    page.fill("input[name=patient_age]", "71")
    page.fill("input[name=requester_name]", "Rakesh (son)")
    page.fill("input[name=requester_phone]", "98111 22334")
    page.select_option("select[name=zone]", label="A West")
    page.fill("textarea[name=address]", "House 14, Sector 45")
    page.fill("textarea[name=summary]", "All four positive, nobody can cook")
    shot(page, "assistance-new-wide")
    page.click("#raise-submit")
    page.wait_for_selector("#request-state:has-text('Assigned to a partner')")
    request = ServiceRequest.objects.get()
    assert request.assignee_org_id == desk.partner.pk
    page.wait_for_selector("text=Why this partner")
    shot(page, "assistance-detail-assigned")

    context, phone = _phone(browser, live_server)
    try:
        sign_in(phone, "partner_staff")
        phone.goto("/assistance/partner/")
        phone.wait_for_selector(f"text={request.reference}")
        assert "House 14" not in phone.content()  # not before they accept
        shot(phone, "assistance-partner-phone-offer")
        phone.click(f"#req-{request.pk} button[data-action=accept]")
        phone.wait_for_selector("text=You accepted")
        assert "House 14, Sector 45" in phone.content()
        phone.click(f"#req-{request.pk} button[data-action=start]")
        phone.wait_for_selector("text=is marked in progress")
        phone.fill(f"#fulfil-note-{request.pk}", "Meals for 7 days handed over")
        shot(phone, "assistance-partner-phone-working")
        phone.click(f"#req-{request.pk} button[data-action=fulfil]")
        phone.wait_for_selector("text=is marked delivered")
        phone.click("button.lang-btn[value=hi]")
        phone.wait_for_selector("html[lang=hi]")
        shot(phone, "assistance-partner-phone-hindi")
    finally:
        context.close()

    request.refresh_from_db()
    assert request.state == RequestState.FULFILLED
    page.goto(f"/assistance/{request.pk}/")
    page.wait_for_selector("#demo-code")
    shot(page, "assistance-detail-confirm")
    page.fill("input[name=code]", last_code(request))
    page.click("button[data-action=confirm]")
    page.wait_for_selector("#request-state:has-text('Closed')")
    timeline = page.inner_text("#timeline")
    for step in (
        "Request raised",
        "Routed to a partner",
        "Accepted by the partner",
        "In progress",
        "Confirmation code sent",
        "Requester confirmed",
    ):
        assert step in timeline, step
    page.check("input[name=score][value='5']")
    page.click("form.satisfaction-form button[type=submit]")
    page.wait_for_selector("text=Satisfaction recorded")
    shot(page, "assistance-detail-closed")
    request.refresh_from_db()
    assert (request.state, request.satisfaction) == (RequestState.CLOSED, 5)


def test_the_board_and_breaches_wide_and_on_a_phone_in_both_languages(
    page: Any, browser: Any, live_server: Any, desk: Cast
) -> None:
    from iccc.assistance import services
    from iccc.assistance.tests.factories import new_request

    now = timezone.now()
    names = ["Sunita Yadav", "Mohan Lal", "Asha Devi", "Ravi Kumar", "Pooja Singh", "Arjun Mehta", "Neha Gupta"]
    for i, name in enumerate(names):
        routed(desk, zone="a", phone=f"98765000{i:02d}", patient_name=name, now=now - timedelta(minutes=40 * i))
    first = ServiceRequest.objects.get(requester_phone="+919876500000")
    kitchen = ServiceOffering.objects.get(organisation=desk.partner)
    new_request(
        desk,
        "hospital_bed",
        zone="a",
        phone="9876500099",
        spo2=86,
        details={"bed_type": "icu"},
        patient_name="Om Prakash",
        patient_age=66,
        now=now - timedelta(minutes=75),
    )
    new_request(
        desk,
        "food",
        zone="a",
        phone="9876500098",
        channel="whatsapp",
        patient_name="Farida Begum",
        now=now - timedelta(minutes=5),
    )
    services.tick(now=now)  # the older ones are past their SLA
    page.set_viewport_size({"width": 1600, "height": 1000})
    sign_in(page, "lead")
    page.goto("/assistance/")
    page.wait_for_selector("table.board-table")
    shot(page, "assistance-board-wide")
    page.check("#select-all")
    assert page.inner_text("#bulk-count").startswith("9")
    page.goto("/assistance/breaches/")
    shot(page, "assistance-breaches-wide")
    page.goto("/network/offerings/")
    shot(page, "network-offerings-wide")
    page.click(f"a[href='#edit-{kitchen.pk}']")
    assert page.is_visible(f"#edit-{kitchen.pk} input[name=o{kitchen.pk}-daily_capacity]")  # the change form opens
    page.click("button.lang-btn[value=hi]")
    page.wait_for_selector("html[lang=hi]")
    page.goto("/assistance/")
    shot(page, "assistance-board-hindi")
    page.goto(f"/assistance/{first.pk}/")
    assert "आज सबसे कम भार" in page.inner_text("#why-partner")  # why this partner, in Hindi
    shot(page, "assistance-detail-hindi")

    context, phone = _phone(browser, live_server)
    try:
        sign_in(phone, "operator_a")
        phone.goto("/assistance/")
        phone.wait_for_selector("table.board-table")
        shot(phone, "assistance-board-phone")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the board must not scroll sideways on a phone"
        phone.goto("/assistance/new/")
        shot(phone, "assistance-new-phone")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.goto("/network/offerings/")
        phone.wait_for_selector("table.offerings-table")
        shot(phone, "network-offerings-phone")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "offerings are cards on a phone"
    finally:
        context.close()


def test_the_partner_queue_refreshes_itself_but_not_under_a_partner_who_is_typing(
    page: Any, live_server: Any, desk: Cast
) -> None:
    now = timezone.now()
    first = routed(desk, zone="a", phone="9876500001", patient_name="Sunita Yadav", now=now)
    page.clock.install()  # the queue polls every 20 s: the test moves the page's clock instead of waiting
    sign_in(page, "partner_staff")
    page.goto("/assistance/partner/")
    page.wait_for_selector("#partner-queue[data-offered='1']")
    expect(page).to_have_title(re.compile(r"^\(1\) "))

    second = routed(desk, zone="a", phone="9876500002", patient_name="Mohan Lal", now=now)
    page.clock.run_for(21_000)
    page.wait_for_selector(f"#req-{second.pk}")
    expect(page).to_have_title(re.compile(r"^\(2\) "))  # the tab's count follows once the swap has settled

    # Half-way through declining the first offer: a refresh now would throw the reason away.
    page.click(f"#req-{first.pk} details.action-more summary")
    reason = page.locator(f"#req-{first.pk} input[name=reason]")
    reason.fill("Kitchen closed tonight")
    third = routed(desk, zone="a", phone="9876500003", patient_name="Asha Devi", now=now)
    page.clock.run_for(21_000)
    page.wait_for_timeout(1_500)
    assert page.locator(f"#req-{third.pk}").count() == 0
    assert reason.input_value() == "Kitchen closed tonight"

    # Done with it (cleared, closed, focus elsewhere): the next poll brings the new offer.
    reason.fill("")
    page.click(f"#req-{first.pk} details.action-more summary")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.clock.run_for(21_000)
    page.wait_for_selector(f"#req-{third.pk}")
    expect(page).to_have_title(re.compile(r"^\(3\) "))
    assert "+919876500003" not in page.content()  # partners never see a full phone number
