"""Closure: the requester confirms with a code (or a reply); unconfirmed closures are flagged; one score."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from iccc.assistance import services
from iccc.assistance.models import (
    AlertKind,
    Confirmation,
    ConfirmMethod,
    EventKind,
    MessageStatus,
    OutboundMessage,
    RequestAlert,
    RequestEvent,
    RequestState,
    ServiceRequest,
    TransitionError,
)
from iccc.assistance.services import ConfirmationError
from iccc.assistance.tests.factories import last_code, later, offer, routed


def _fulfilled(cast: Any, **kw: Any) -> ServiceRequest:
    offer(cast, cast.partner, "food")
    request = routed(cast, "food", phone="9876543210", **kw)
    services.accept_request(cast.partner_staff, request, now=later(5))
    services.fulfil_request(cast.partner_staff, request, note="meals for 7 days delivered", now=later(60))
    return request


def test_fulfilment_sends_a_code_to_the_requester_and_keeps_only_its_hash(
    cast: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request = _fulfilled(cast)
    assert request.state == RequestState.FULFILLED
    conf = Confirmation.objects.get(request=request)
    code = last_code(request)
    assert conf.code_hash != code
    assert code not in conf.code_hash
    assert conf.sent_to == "+919876543210"
    assert conf.sent_to_masked == "••••3210"
    message = OutboundMessage.objects.get(request=request)
    assert message.status == MessageStatus.SENT
    assert message.provider == "demo"
    line = RequestEvent.objects.get(request=request, kind=EventKind.CONFIRMATION_SENT)
    assert line.message == "Confirmation code sent to ••••3210"
    assert code not in line.message


def test_the_right_code_closes_the_request(cast: Any) -> None:
    request = _fulfilled(cast)
    services.confirm_request(request, code=last_code(request), now=later(90))
    assert request.state == RequestState.CLOSED
    assert request.confirmed_via == ConfirmMethod.OTP
    assert request.confirmed_at == later(90)
    assert not request.closed_unconfirmed
    assert Confirmation.objects.get(request=request).used_at == later(90)


def test_a_wrong_code_counts_an_attempt_and_changes_nothing_else(cast: Any) -> None:
    request = _fulfilled(cast)
    right = last_code(request)
    wrong = "000000" if right != "000000" else "111111"
    with pytest.raises(ConfirmationError) as err:
        services.confirm_request(request, code=wrong, now=later(90))
    assert err.value.code == "wrong_code"
    request.refresh_from_db()
    assert request.state == RequestState.FULFILLED
    assert Confirmation.objects.get(request=request).attempts == 1  # kept although the call failed
    services.confirm_request(request, code=right, now=later(91))
    assert request.state == RequestState.CLOSED


def test_an_expired_code_is_refused(cast: Any) -> None:
    request = _fulfilled(cast)
    with pytest.raises(ConfirmationError) as err:
        services.confirm_request(request, code=last_code(request), now=later(60 + 24 * 60 + 1))
    assert err.value.code == "expired"
    request.refresh_from_db()
    assert request.state == RequestState.FULFILLED


def test_too_many_wrong_codes_lock_the_code_until_a_new_one_is_sent(cast: Any) -> None:
    request = _fulfilled(cast)
    old = last_code(request)
    wrong = "000000" if old != "000000" else "111111"
    codes = []
    for i in range(5):
        with pytest.raises(ConfirmationError) as err:
            services.confirm_request(request, code=wrong, now=later(70 + i))
        codes.append(err.value.code)
    assert codes == ["wrong_code"] * 4 + ["too_many_attempts"]
    with pytest.raises(ConfirmationError) as err:
        services.confirm_request(request, code=old, now=later(80))
    assert err.value.code == "too_many_attempts"  # even the right code: it is spent
    services.resend_confirmation(cast.operator_a, request, now=later(81))
    new = last_code(request)
    if new != old:
        with pytest.raises(ConfirmationError):
            services.confirm_request(request, code=old, now=later(82))
    services.confirm_request(request, code=new, now=later(83))
    assert request.state == RequestState.CLOSED


def test_a_yes_reply_on_the_channel_confirms(cast: Any) -> None:
    request = _fulfilled(cast)
    services.confirm_request(request, reply="हाँ", channel="whatsapp", now=later(70))
    assert request.state == RequestState.CLOSED
    assert request.confirmed_via == ConfirmMethod.REPLY


def test_a_no_reply_disputes_and_alerts_the_supervisor(cast: Any) -> None:
    request = _fulfilled(cast)
    services.confirm_request(request, reply="NO", channel="sms", now=later(70))
    assert request.state == RequestState.ESCALATED
    alert = RequestAlert.objects.get(request=request)
    assert alert.kind == AlertKind.DISPUTED
    assert str(cast.partner) in alert.message
    with pytest.raises(TransitionError):
        services.confirm_request(request, code=last_code(request), now=later(71))


def test_a_reply_that_is_neither_yes_nor_no_is_refused(cast: Any) -> None:
    request = _fulfilled(cast)
    with pytest.raises(ValidationError) as err:
        services.confirm_request(request, reply="maybe tomorrow", now=later(70))
    assert "reply" in err.value.message_dict


def test_a_code_before_fulfilment_is_refused(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    request = routed(cast, "food")
    with pytest.raises(TransitionError):
        services.confirm_request(request, code="123456", now=later(3))


def test_a_supervisor_closes_unconfirmed_with_a_reason_and_it_is_flagged(cast: Any) -> None:
    request = _fulfilled(cast)
    with pytest.raises(PermissionDenied):
        services.close_request(cast.operator_a, request, reason="called, family confirmed", now=later(100))
    with pytest.raises(ValidationError):
        services.close_request(cast.lead, request, reason="", now=later(100))
    services.close_request(cast.lead, request, reason="phone switched off for two days", now=later(100))
    assert request.state == RequestState.CLOSED
    assert request.closed_unconfirmed is True
    assert request.confirmed_via == ConfirmMethod.UNCONFIRMED
    assert RequestAlert.objects.filter(request=request, kind=AlertKind.UNCONFIRMED).exists()
    with pytest.raises(TransitionError):  # the code no longer works once closed
        services.confirm_request(request, code=last_code(request), now=later(101))


def test_nobody_confirming_for_two_days_closes_it_flagged(cast: Any) -> None:
    request = _fulfilled(cast)
    assert services.tick(later(60 + 47 * 60)).auto_closed == 0
    assert services.tick(later(60 + 48 * 60)).auto_closed == 1
    request.refresh_from_db()
    assert request.state == RequestState.CLOSED
    assert request.closed_unconfirmed


def test_fulfilment_for_a_walk_in_without_a_phone_waits_for_a_supervisor(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    request = routed(cast, "food", channel="walk_in", phone="")
    services.accept_request(cast.partner_staff, request, now=later(5))
    services.fulfil_request(cast.partner_staff, request, now=later(30))
    assert not Confirmation.objects.filter(request=request).exists()
    assert "a supervisor must close it" in RequestEvent.objects.filter(request=request).last().message  # type: ignore[union-attr]
    with pytest.raises(ValidationError):
        services.resend_confirmation(cast.operator_a, request, now=later(31))


def test_satisfaction_is_one_score_from_one_to_five(cast: Any) -> None:
    request = _fulfilled(cast)
    with pytest.raises(ValidationError):
        services.record_satisfaction(request, 6, actor=cast.operator_a, now=later(70))
    with pytest.raises(PermissionDenied):  # the partner does not mark its own work
        services.record_satisfaction(request, 5, actor=cast.partner_staff, now=later(70))
    services.record_satisfaction(request, 4, actor=cast.operator_a, now=later(70))
    services.record_satisfaction(request, 4, actor=cast.operator_a, now=later(71))  # the same again: no-op
    with pytest.raises(TransitionError):
        services.record_satisfaction(request, 2, actor=cast.operator_a, now=later(72))
    request.refresh_from_db()
    assert request.satisfaction == 4
    assert RequestEvent.objects.filter(request=request, kind=EventKind.SATISFACTION).count() == 1


def test_satisfaction_before_the_help_arrived_is_refused(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    request = routed(cast, "food")
    with pytest.raises(TransitionError):
        services.record_satisfaction(request, 5, now=later(5))


def test_code_ttl_and_attempts_come_from_the_policy(cast: Any) -> None:
    from iccc.assistance.models import AssistancePolicy

    AssistancePolicy.objects.create(district=cast.district, otp_ttl_minutes=30, otp_max_attempts=2)
    request = _fulfilled(cast)
    conf = Confirmation.objects.get(request=request)
    assert conf.expires_at - conf.sent_at == timedelta(minutes=30)
    assert conf.max_attempts == 2
