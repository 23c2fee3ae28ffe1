"""Forms of the outreach pages: call outcome, check-in, need, reassignment, staffing plan.

The forms only parse what people type and say clearly what is wrong with it; the rules
(what an outcome does, which check-in raises a red flag) live in `services`. Vital-sign
bounds come from the domain's `VITAL_BOUNDS`, so the page and the API refuse the same values.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from iccc.core.time import local_tz
from iccc.outreach.models import VITAL_BOUNDS, CallOutcome, Comorbidity, NeedKind, NeedUrgency, Symptom

# Outcomes offered on a phone call, in the order of their keyboard shortcuts 1 to 8.
PHONE_OUTCOMES: tuple[CallOutcome, ...] = (
    CallOutcome.REACHED,
    CallOutcome.NOT_REACHABLE,
    CallOutcome.SWITCHED_OFF,
    CallOutcome.WRONG_NUMBER,
    CallOutcome.CALL_BACK_LATER,
    CallOutcome.REFUSED,
    CallOutcome.DECEASED,
    CallOutcome.MOVED_OUT,
)
# What a volunteer can report from a field visit.
VISIT_OUTCOMES: tuple[CallOutcome, ...] = (
    CallOutcome.VISITED,
    CallOutcome.NOT_FOUND,
    CallOutcome.WRONG_NUMBER,
    CallOutcome.DECEASED,
    CallOutcome.MOVED_OUT,
)
# Needs offered as one-click buttons on the console (the rest are in the list).
QUICK_NEEDS: tuple[NeedKind, ...] = (
    NeedKind.BED,
    NeedKind.DOCTOR,
    NeedKind.OXYGEN,
    NeedKind.AMBULANCE,
    NeedKind.FOOD,
    NeedKind.FUNERAL,
)

VITAL_LABELS = {"spo2": _("SpO2"), "temperature_c": _("Temperature"), "pulse": _("Pulse")}


class LocalDateTimeField(forms.DateTimeField):
    """A <input type=datetime-local> read in the district's time zone (agents type IST)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value: Any) -> datetime | None:
        result = super().to_python(value)
        if result is None:
            return None
        if timezone.is_aware(result):
            result = result.replace(tzinfo=None)
        return result.replace(tzinfo=local_tz())


class OutcomeForm(forms.Form):
    """What came of the call; the idempotency key is made when the form is drawn."""

    outcome = forms.ChoiceField(label=_("Outcome"), choices=CallOutcome.choices)
    idempotency_key = forms.CharField(max_length=80, widget=forms.HiddenInput)
    call_id = forms.CharField(max_length=80, required=False, widget=forms.HiddenInput)
    callback_at = LocalDateTimeField(
        label=_("Call back at (IST)"), required=False, help_text=_("Needed for “call back at…”.")
    )
    notes = forms.CharField(
        label=_("Notes from the call"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, outcomes: tuple[CallOutcome, ...] = PHONE_OUTCOMES, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = [(o.value, o.label) for o in outcomes]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("outcome") == CallOutcome.CALL_BACK_LATER and not data.get("callback_at"):
            self.add_error("callback_at", _("Say when to call back: pick a date and time."))
        return data


def _parse_contacts(text: str) -> list[dict[str, str]]:
    contacts = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        match = re.match(r"^(?P<name>.*?)[,;\s]+(?P<phone>\+?[\d\s-]{6,})$", line)
        if match:
            contacts.append({"name": match["name"].strip(" ,;"), "phone": re.sub(r"[\s-]", "", match["phone"])})
        else:
            contacts.append({"name": line, "phone": ""})
    return contacts


class CheckInForm(forms.Form):
    """The check-in questions asked on a call, sent to `services.record_checkin` as `data`."""

    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms today"), choices=Symptom.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    symptom_onset = forms.DateField(
        label=_("Symptoms started on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    spo2 = forms.IntegerField(
        label=_("SpO2 (%)"), required=False, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    temperature = forms.FloatField(
        label=_("Temperature"), required=False, widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"})
    )
    temperature_unit = forms.ChoiceField(
        label=_("Unit"), choices=[("C", "°C"), ("F", "°F")], initial="C", required=False
    )
    pulse = forms.IntegerField(
        label=_("Pulse (/min)"), required=False, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    comorbidities = forms.MultipleChoiceField(
        label=_("Comorbidities"), choices=Comorbidity.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    vaccination_doses = forms.TypedChoiceField(
        label=_("Vaccine doses"),
        choices=[("", "—"), ("0", "0"), ("1", "1"), ("2", "2"), ("3", "3")],
        coerce=int,
        empty_value=None,
        required=False,
    )
    household_members = forms.IntegerField(label=_("People at home"), required=False, min_value=0, max_value=60)
    contacts = forms.CharField(
        label=_("Close contacts"),
        required=False,
        max_length=4000,
        help_text=_("One per line: name, phone."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    CHECKIN_INPUTS = (
        "symptoms", "symptom_onset", "spo2", "temperature", "pulse", "comorbidities",
        "vaccination_doses", "household_members", "contacts",
    )  # fmt: skip

    def has_answers(self) -> bool:
        """True when the agent typed anything into the check-in (the unit alone does not count)."""
        data = self.data
        return any(
            (data.getlist(name) if hasattr(data, "getlist") else data.get(name)) not in (None, "", [], [""])
            for name in self.CHECKIN_INPUTS
        )

    def _in_bounds(self, name: str, value: float | None) -> float | None:
        bound = VITAL_BOUNDS.get(name)
        if value is None or bound is None:
            return value
        if not bound.low <= value <= bound.high:
            raise forms.ValidationError(
                _(
                    "%(value)s%(unit)s is not a possible %(what)s reading (allowed %(low)s to %(high)s%(unit)s). "
                    "Check the device and ask again."
                ),
                code="out_of_range",
                params={
                    "value": f"{value:g}",
                    "unit": bound.unit,
                    "what": VITAL_LABELS.get(name, name),
                    "low": f"{bound.low:g}",
                    "high": f"{bound.high:g}",
                },
            )
        return value

    def clean_spo2(self) -> float | None:
        return self._in_bounds("spo2", self.cleaned_data.get("spo2"))

    def clean_pulse(self) -> float | None:
        return self._in_bounds("pulse", self.cleaned_data.get("pulse"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        temp = data.get("temperature")
        if temp is not None and "temperature" not in self.errors:
            celsius = (temp - 32) * 5 / 9 if data.get("temperature_unit") == "F" else temp
            try:
                data["temperature_c"] = self._in_bounds("temperature_c", round(celsius, 1))
            except forms.ValidationError as exc:
                message = exc
                if data.get("temperature_unit") != "F" and 93 <= temp <= 110:
                    message = forms.ValidationError(
                        _("%(value)s °C is not possible; it looks like °F. Choose °F or enter °C."),
                        params={"value": f"{temp:g}"},
                    )
                self.add_error("temperature", message)
        return data

    def checkin_data(self) -> dict[str, Any]:
        """The cleaned answers in the shape `services.record_checkin` expects."""
        d = self.cleaned_data
        return {
            "symptoms": list(d.get("symptoms") or []),
            "symptom_onset": d.get("symptom_onset"),
            "spo2": d.get("spo2"),
            "temperature_c": d.get("temperature_c"),
            "pulse": d.get("pulse"),
            "comorbidities": list(d.get("comorbidities") or []),
            "vaccination_doses": d.get("vaccination_doses"),
            "household_members": d.get("household_members"),
            "contacts": _parse_contacts(d.get("contacts") or ""),
        }

    # Domain field names → the input that shows their error.
    ERROR_FIELD = {"temperature_c": "temperature"}

    def add_domain_errors(self, message_dict: dict[str, list[str]]) -> None:
        for name, messages in message_dict.items():
            target = self.ERROR_FIELD.get(name, name)
            for message in messages:
                self.add_error(target if target in self.fields else None, message)


class NeedForm(forms.Form):
    """A need found on the call, flagged for the assistance desk."""

    kind = forms.ChoiceField(label=_("Need"), choices=NeedKind.choices)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=NeedUrgency.choices, initial=NeedUrgency.HIGH)
    notes = forms.CharField(label=_("Details"), required=False, max_length=500)


class ReassignForm(forms.Form):
    """A supervisor gives a task to a named agent, or back to the whole queue; a reason is required."""

    agent: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Give to"),
        queryset=None,  # set per request: the active agents of the supervisor's district
        required=False,
        empty_label=_("Back to the open queue (anyone in the zone)"),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("Recorded in the audit log."),
        error_messages={"required": _("Give a reason for the reassignment.")},
    )

    def __init__(self, *args: Any, agents: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["agent"]
        field.queryset = agents  # type: ignore[attr-defined]
        field.label_from_instance = lambda u: f"{u.get_full_name() or u.username} · {u.get_role_display()}"  # type: ignore[attr-defined]

    def clean_reason(self) -> str:
        reason = (self.cleaned_data.get("reason") or "").strip()
        if not reason:
            raise forms.ValidationError(_("Give a reason for the reassignment."))
        return reason


class PlanForm(forms.Form):
    """The staffing planner's inputs (defaults: Gurugram's peak day, 29 April 2021)."""

    arrivals = forms.IntegerField(
        label=_("New positives per day"), min_value=1, max_value=100_000, initial=5042,
        help_text=_("Gurugram's peak, 29 April 2021: 5,042."),
    )  # fmt: skip
    isolated = forms.IntegerField(
        label=_("People in home isolation"), min_value=0, max_value=1_000_000, initial=35879,
        help_text=_("Each gets a follow-up call a day (35,879 on the peak day)."),
    )  # fmt: skip
    agents = forms.IntegerField(label=_("Agents"), min_value=1, max_value=2000, initial=50)
    shift_hours = forms.IntegerField(
        label=_("Day shift (hours)"), min_value=4, max_value=24, initial=12,
        help_text=_("From 08:00, every agent; a quarter of them cover the rest of the day."),
    )  # fmt: skip
    handling_minutes = forms.FloatField(
        label=_("Minutes per first call"), min_value=0.5, max_value=120, initial=6, help_text=_("talk + notes")
    )
    sla_minutes = forms.IntegerField(
        label=_("First-contact target (minutes)"), min_value=5, max_value=24 * 60, initial=120
    )
    scale = forms.TypedChoiceField(
        label=_("Simulate this share of the day"),
        coerce=float,
        initial="0.1",
        choices=[
            ("0.05", _("a twentieth (seconds)")),
            ("0.1", _("a tenth (about 10 s)")),
            ("0.25", _("a quarter (about a minute)")),
        ],
        help_text=_("A share of the arrivals, the isolated and the agents, replayed on the real queue code."),
    )
