"""The partner network page: one table grouped by service (cards on a phone), filterable by service;
leads see every partner and the coverage gaps, partners only their own rows and change only those."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from iccc.accounts.models import Organisation
from iccc.network import services
from iccc.network.models import ServiceOffering
from iccc.testing.cast import Cast

URL = reverse("network:offerings")


def _get(user: Any, language: str = "en", query: str = "") -> str:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    response = client.get(URL + query)
    assert response.status_code == 200
    return response.content.decode()


def _offer(cast: Cast, org: Organisation, service: str, **fields: Any) -> ServiceOffering:
    zones = fields.pop("zones", None)
    fields.setdefault("daily_capacity", 20)
    return services.create_offering(cast.lead, org, service, zones=zones, **fields)


@pytest.fixture
def network(cast: Cast) -> dict[str, ServiceOffering]:
    return {
        "kitchen": _offer(
            cast, cast.partner, "food", name="Cooked meals", zones=[cast.zone_a],
            contact_name="MyUpchar kitchen desk", contact_phone="+919811122233",
        ),
        "rival": _offer(cast, cast.rival_partner, "food", name="Tiffins", zones=[cast.zone_b], daily_capacity=30),
        "beds": _offer(cast, cast.hospital, "hospital_bed", variants=["icu"], escalation_name="Medical superintendent"),
        "night": _offer(
            cast, cast.rival_partner, "ambulance", open_24x7=False, opens_at=time(20), closes_at=time(8), days=[0, 1]
        ),
    }  # fmt: skip


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="offering-(\d+)"', html)


def test_a_lead_sees_every_offering_in_one_table_grouped_by_service(
    cast: Cast, network: dict[str, ServiceOffering]
) -> None:
    html = _get(cast.lead)
    assert 'class="table table-compact offerings-table"' in html
    assert sorted(_rows(html)) == sorted(str(o.pk) for o in network.values())
    groups = re.findall(r'<tbody id="svc-(\w+)">', html)
    assert groups == ["hospital_bed", "ambulance", "food"]  # the services' own order
    for label in ("Partner", "Zones covered", "Hours", "Today", "Contacts"):
        assert f'data-label="{label}"' in html  # each cell names its column: a card on a phone
    assert "MyUpchar kitchen desk" in html
    assert "+919811122233" in html  # a partner's own desk number, for ICCC staff to call
    assert "Only: ICU" in html  # the variant by its name
    assert "20:00-08:00 Mon,Tue" in html
    # Coverage gaps as before: each kitchen covers one zone of two, together the whole district.
    assert "Coverage by service" in html
    food = html.split('<tbody id="svc-food">', 1)[1].split("</tbody>", 1)[0]
    assert "2 offerings · 50 requests a day" in food
    assert "zone not covered" not in food
    beds = html.split('<tbody id="svc-hospital_bed">', 1)[1].split("</tbody>", 1)[0]
    assert "whole district" in beds
    assert html.count('class="edit-row"') == 4  # a lead may change any offering


def test_the_service_filter_shows_one_group(cast: Cast, network: dict[str, ServiceOffering]) -> None:
    html = _get(cast.lead, query="?service=food")
    assert re.findall(r'<tbody id="svc-(\w+)">', html) == ["food"]
    assert sorted(_rows(html)) == sorted([str(network["kitchen"].pk), str(network["rival"].pk)])
    assert 'href="?service=food#offerings" aria-current="true"' in html
    assert _rows(_get(cast.lead, query="?service=nonsense")) != []  # an unknown service shows everything


def test_a_partner_sees_and_may_change_only_its_own_rows(cast: Cast, network: dict[str, ServiceOffering]) -> None:
    html = _get(cast.partner_staff)
    assert _rows(html) == [str(network["kitchen"].pk)]
    assert "Meddo" not in html
    assert "Tiffins" not in html
    assert "Coverage by service" not in html  # the district's gaps are the ICCC's business
    assert f'id="edit-{network["kitchen"].pk}"' in html
    assert 'class="svc-filter"' not in html  # one service: nothing to filter
    rival = network["rival"]
    form = {f"o{rival.pk}-daily_capacity": "1", f"o{rival.pk}-is_active": "on", f"o{rival.pk}-open_24x7": "on"}
    client = Client()
    client.force_login(cast.partner_staff)
    assert client.post(reverse("network:update", args=[rival.pk]), form).status_code == 404
    rival.refresh_from_db()
    assert rival.daily_capacity == 30


def test_an_operator_reads_the_table_without_changing_anything(cast: Cast, network: dict[str, ServiceOffering]) -> None:
    html = _get(cast.operator_a)
    assert len(_rows(html)) == 4
    assert 'class="edit-row"' not in html
    assert 'data-label="Change"' not in html


def test_a_paused_offering_is_marked_and_a_saved_change_returns_to_its_row(
    cast: Cast, network: dict[str, ServiceOffering]
) -> None:
    kitchen = network["kitchen"]
    client = Client()
    client.force_login(cast.partner_staff)
    form = {f"o{kitchen.pk}-daily_capacity": "20", f"o{kitchen.pk}-open_24x7": "on", "service": "food"}
    form[f"o{kitchen.pk}-reason"] = "cook has COVID"
    response = client.post(reverse("network:update", args=[kitchen.pk]), form)
    assert response["Location"] == f"{URL}?service=food#offering-{kitchen.pk}"
    kitchen.refresh_from_db()
    assert not kitchen.is_active
    row = _get(cast.partner_staff).split(f'<tr id="offering-{kitchen.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "row-paused" in row
    assert "paused" in row


def test_the_table_reads_in_hindi(cast: Cast, network: dict[str, ServiceOffering]) -> None:
    html = _get(cast.lead, "hi")
    assert 'data-label="ज़ोन"' in html or 'data-label="शामिल ज़ोन"' in html
    assert "प्रतिदिन 50 अनुरोध" in html
    assert "पूरा ज़िला" in html  # whole district
    assert "केवल: आईसीयू" in html  # only ICU
    assert "बदलें" in html  # change


def test_the_page_reads_a_bounded_number_of_queries(
    cast: Cast, network: dict[str, ServiceOffering], django_assert_max_num_queries: Any
) -> None:
    for i in range(25):
        org = Organisation.objects.create(district=cast.district, name=f"Kitchen {i}", kind=cast.partner.kind)
        _offer(cast, org, "food", zones=[cast.zone_a] if i % 2 else None)
    client = Client()
    client.force_login(cast.lead)
    with django_assert_max_num_queries(10):
        assert client.get(URL).status_code == 200
