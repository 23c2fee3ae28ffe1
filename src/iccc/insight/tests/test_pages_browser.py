"""The analyst page in a real browser: charts drawn, the hotspot map filled, English and Hindi, phone.

Screenshots go to var/screenshots/insight-*.png (looked at when the page changes).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from iccc.insight import services
from iccc.insight.tests.conftest import AS_OF, NOW, add_beds, add_cases, growing
from iccc.testing.browser import shot, sign_in
from iccc.testing.cast import Cast, build_cast

pytestmark = [pytest.mark.browser]

CHARTS = ("epi", "rt", "fc", "pool-general", "pool-icu", "pool-ventilator", "oxygen", "scenarios")


@pytest.fixture
def analysed(transactional_db: Any) -> Cast:
    cast = build_cast()
    cast.district.name_hi = "टेस्टपुर"
    cast.district.save(update_fields=["name_hi"])
    add_cases(cast.district, cast.zone_a, growing(80, 6, 1.22))
    add_cases(cast.district, cast.zone_b, growing(80, 3, 1.05))
    add_cases(cast.district, cast.zone_b, {AS_OF - timedelta(days=d): 2 for d in range(3)})
    add_beds(cast.district, general=(400, 310), icu=(60, 52), ventilator=(25, 22))
    run = services.compute_insight(cast.district, as_of=AS_OF, now=NOW)
    assert run.status == "done", run.error
    return cast


def _charts_drawn(page: Any) -> None:
    for chart in CHARTS:
        svg = page.locator(f'svg[data-chart="{chart}"]')
        assert svg.count() == 1, chart
        box = svg.bounding_box()
        assert box is not None, chart
        assert box["width"] > 200, chart
        assert box["height"] > 80, chart
    assert page.locator('svg[data-chart="rt"] path.band-95').count() >= 1
    assert page.locator('svg[data-chart="fc"] path.band-50').count() >= 1
    assert page.locator('svg[data-chart="pool-icu"] line.ref-capacity').count() == 1


def test_the_analyst_page_draws_its_charts_and_map_in_english_and_hindi(page: Any, analysed: Cast) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    sign_in(page, "analyst")
    page.goto("/insight/")
    page.wait_for_selector("text=What the numbers say")
    _charts_drawn(page)
    page.wait_for_selector('#hotspot-map[data-ready="1"]')
    assert page.locator("#hotspot-map path.leaflet-interactive").count() == 2  # both zones drawn
    assert "Each person with COVID-19 is passing it on to about" in page.content()
    shot(page, "insight-analyst-wide")
    page.click("button.lang-btn[value=hi]")
    page.wait_for_selector("text=संख्याएँ क्या कहती हैं")
    _charts_drawn(page)
    assert "प्रजनन संख्या" in page.content()
    page.wait_for_selector('#hotspot-map[data-ready="1"]')
    shot(page, "insight-analyst-hindi")


def test_the_analyst_page_works_on_a_phone(browser: Any, live_server: Any, analysed: Cast) -> None:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    try:
        sign_in(phone, "lead")
        phone.goto("/insight/")
        phone.wait_for_selector("text=What the numbers say")
        _charts_drawn(phone)
        # Nothing wider than the screen: the page scrolls down, not sideways.
        overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1
        shot(phone, "insight-analyst-phone")
        phone.goto("/insight/?zone=A")
        phone.wait_for_selector('svg[data-chart="zone-rt"]')
        shot(phone, "insight-zone-phone")
    finally:
        context.close()
