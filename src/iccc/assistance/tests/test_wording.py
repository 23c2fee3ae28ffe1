"""What the system writes on a request is stored as a message code and read out in the reader's language.

A line written while a Hindi-speaking operator worked reads in English to an English reader and
the other way round; rows written before codes (English text only) still show; free text a person
typed stays as typed; the request page shows the routing explanation once; the API answers in the
language it is asked for and carries the code.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from iccc.assistance import services
from iccc.assistance.models import Assignment, EventKind, RequestEvent, ServiceRequest
from iccc.assistance.tests.factories import T0, new_request, offer, routed
from iccc.assistance.wording import WORDINGS, english, render, say
from iccc.testing.cast import Cast

DEVANAGARI = re.compile("[\u0900-\u097f]")


def _page(user: Any, r: ServiceRequest, language: str) -> str:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    response = client.get(reverse("assistance:detail", args=[r.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def two_kitchens(cast: Cast) -> Cast:
    """Food from the partner (close by) and from the rival (farther), both covering zone A; beds nowhere."""
    offer(cast, cast.partner, "food", zones=[cast.zone_a], base=(28.46, 77.03))
    offer(cast, cast.rival_partner, "food", zones=[cast.zone_a], base=(28.50, 77.10))
    return cast


def _sample(template: str) -> dict[str, Any]:
    """A value of the right type for each %(name)x placeholder."""
    values: dict[str, Any] = {}
    for name, conversion in re.findall(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?([sdif])", template):
        values[name] = {"d": 3, "i": 3, "f": 1.25}.get(conversion, "Asha")
    return values


def test_every_message_code_reads_in_english_and_in_hindi() -> None:
    for code, wording in WORDINGS.items():
        params = _sample(str(wording.text))
        message = say(code, **params)
        with translation.override("en"):
            assert render(message), code
        with translation.override("hi"):
            hindi = render(message)
        assert hindi, code
        if not isinstance(wording.text, str) and code != "state_changed":  # "%(from)s → %(to)s" has no words
            assert DEVANAGARI.search(hindi), f"{code} has no Hindi translation: {hindi!r}"


def test_choices_times_and_nested_reasons_are_read_out_when_shown_not_when_written() -> None:
    message = say(
        "raised",
        channel="whatsapp",
        kind="food",
        priority="urgent",
        why=[say("triage.no_food"), say("triage.signs", s=["chest_pain"])],
        due=T0 + timedelta(hours=2),
    )
    assert message["params"]["due"] == "2021-05-03T13:00:00+05:30"  # stored as data, not as words
    assert english(message) == (
        "Raised on WhatsApp: Food, Urgent (no food at home; danger signs: chest pain or pressure); due 03 May 13:00"
    )
    with translation.override("hi"):
        hindi = render(message)
    assert hindi.startswith("व्हाट्सऐप पर दर्ज: भोजन, तत्काल (घर में भोजन नहीं; ख़तरे के लक्षण: सीने में दर्द")
    assert "03 मई 13:00" in hindi
    with pytest.raises(KeyError):
        say("no_such_code")
    with pytest.raises(TypeError):
        say("declined", org="MyUpchar", why=translation.gettext_lazy("Food"))  # words are chosen when read


def test_a_hindi_request_page_shows_the_systems_lines_and_reasons_in_hindi(two_kitchens: Cast) -> None:
    cast = two_kitchens
    with translation.override("hi"):  # written while the operator's page was in Hindi …
        r = routed(cast, zone="a", lat=28.46, lon=77.03)
        services.decline_assignment(cast.partner_staff, r, "our van broke down", now=T0 + timedelta(minutes=3))
    r.refresh_from_db()
    # … the stored copy is English (back-office, audit), the code carries the meaning.
    assert r.routing_note.startswith("Meddo: least loaded (0 of 20 today)")
    assert r.text_codes["routing_note"]["code"] == "sentences"
    declined = RequestEvent.objects.get(request=r, kind=EventKind.DECLINED)
    assert declined.message == "MyUpchar declined: our van broke down"

    hindi = _page(cast.operator_a, r, "hi")
    assert "MyUpchar ने मना किया: our van broke down" in hindi  # the frame in Hindi, the typed reason as typed
    assert "Meddo को भेजा गया; 12:03 तक जवाब देना है" in hindi  # answer-by time in local time
    assert "आज सबसे कम भार (20 में से 0)" in hindi  # why this partner, in one line
    assert "छोड़े गए: MyUpchar: इस अनुरोध के लिए पहले ही आज़माया गया" in hindi  # the routing table's full record
    assert "ख़तरे का कोई लक्षण नहीं" in hindi  # the triage rule's reason
    assert "least loaded" not in hindi
    assert "declined:" not in hindi

    english_page = _page(cast.operator_a, r, "en")
    assert "MyUpchar declined: our van broke down" in english_page
    assert "least loaded today (0 of 20)" in english_page
    assert "सबसे कम भार" not in english_page


def test_a_partner_reads_its_own_lines_in_hindi_and_never_the_routing_explanation(two_kitchens: Cast) -> None:
    cast = two_kitchens
    r = routed(cast, zone="a", lat=28.46, lon=77.03)
    services.accept_request(cast.partner_staff, r, now=T0 + timedelta(minutes=2))
    html = _page(cast.partner_staff, r, "hi")
    assert "MyUpchar ने स्वीकार किया" in html
    assert "यह साझेदार क्यों" not in html  # "why this partner"
    assert "Meddo" not in html  # the rival considered is never named to a partner
    assert "सबसे कम भार" not in html


def test_rows_written_before_codes_still_show_their_english_text(two_kitchens: Cast) -> None:
    cast = two_kitchens
    r = routed(cast, zone="a", lat=28.46, lon=77.03)
    services.escalate_request(cast.operator_a, r, "family unreachable", now=T0 + timedelta(minutes=5))
    # As a row from before the codes: English text only.
    RequestEvent.objects.filter(request=r).update(text_codes={})
    RequestEvent.objects.filter(request=r, kind=EventKind.RAISED).update(message="Raised by the old release")
    Assignment.objects.filter(request=r).update(text_codes={}, explanation="Old explanation: MyUpchar was nearest.")
    ServiceRequest.objects.filter(pk=r.pk).update(text_codes={}, priority_why="old rule: routine")
    html = _page(cast.operator_a, r, "hi")
    assert "Raised by the old release" in html
    assert "Old explanation: MyUpchar was nearest." in html
    assert "old rule: routine" in html
    assert "family unreachable" in html  # the reason a person typed, as typed
    api = Client()
    api.force_login(cast.operator_a)
    body = api.get(f"/api/v1/assistance/requests/{r.pk}").json()
    raised = next(e for e in body["timeline"] if e["kind"] == "raised")
    assert (raised["message"], raised["code"]) == ("Raised by the old release", None)


def test_the_request_page_shows_the_routing_explanation_once(two_kitchens: Cast) -> None:
    cast = two_kitchens
    r = routed(cast, zone="a", lat=28.46, lon=77.03)
    r.refresh_from_db()
    full = r.routing_note
    assert "Next: Meddo" in full  # the explanation names the runner-up …
    html = _page(cast.operator_a, r, "en")
    assert html.count("Next: Meddo") == 1  # … once: in the routing table
    assert html.count(full) == 1
    why = re.search(r'<dd class="routing-note" id="why-partner">(.*?)</dd>', html, re.S)
    assert why is not None
    assert why.group(1).startswith("least loaded today (0 of 20), 0.0 km away")  # the deciding reason, one line
    assert "Next:" not in why.group(1)
    timeline = html.split('id="timeline"', 1)[1]
    assert "MyUpchar: least loaded today (0 of 20), 0.0 km away" in timeline  # the routing line, short


def test_the_api_answers_in_the_language_asked_for_and_carries_the_code(two_kitchens: Cast) -> None:
    cast = two_kitchens
    r = routed(cast, zone="a", lat=28.46, lon=77.03)
    api = Client()
    api.force_login(cast.operator_a)
    url = f"/api/v1/assistance/requests/{r.pk}"
    body = api.get(url).json()
    offered = next(e for e in body["timeline"] if e["to_state"] == "assigned")
    assert offered["message"] == "Offered to MyUpchar; answer by 12:00"
    assert offered["code"] == "offered"
    assert body["routing_note"].startswith("MyUpchar: least loaded")
    hindi = api.get(url, headers={"Accept-Language": "hi"}).json()
    offered_hi = next(e for e in hindi["timeline"] if e["to_state"] == "assigned")
    assert offered_hi["message"] == "MyUpchar को भेजा गया; 12:00 तक जवाब देना है"
    assert offered_hi["code"] == "offered"
    assert hindi["routing_note"].startswith("MyUpchar: सबसे कम भार")


def test_a_note_a_person_typed_has_no_code_and_reads_as_typed(two_kitchens: Cast) -> None:
    cast = two_kitchens
    r = new_request(cast, zone="a")
    note = services.add_note(cast.operator_a, r, "गेट पर गार्ड है, फ़ोन करके आएँ", now=T0)
    assert note.text_codes == {}
    with translation.override("en"):
        assert note.message_text == "गेट पर गार्ड है, फ़ोन करके आएँ"
