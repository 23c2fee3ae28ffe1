"""Forms of the assistance pages: raising a request (with each service's own fields), the actions, bulk actions.

The per-service fields are generated from the domain's `DETAIL_SCHEMAS`, so a field added to
a service appears on the form without touching this module; their values are checked again
by the services (`validate_details`), whose field errors are shown next to the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from iccc.assistance.models import DETAIL_SCHEMAS, Channel, DetailField, Priority, RedSign, ServiceKind
from iccc.geo.models import Zone

REASON_MIN = 3

# Channels an operator records by hand (citizen channels create requests themselves).
STAFF_CHANNELS = (
    Channel.CALL_CONSOLE,
    Channel.HELPLINE,
    Channel.WHATSAPP,
    Channel.WALK_IN,
    Channel.SMS,
    Channel.WEB_PORTAL,
    Channel.PARTNER,
)


def detail_field_name(kind: str, name: str) -> str:
    """The form field of one service's detail: unique across services (several share 'people')."""
    return f"d_{kind}_{name}"


def _form_field(kind: str, f: DetailField) -> forms.Field:
    label = f.label
    if f.type == "bool":
        return forms.BooleanField(label=label, required=False, initial=bool(f.default))
    if f.choices:
        labels = _choice_labels(kind, f.name)
        choices = [("", "—")] + [(c, labels.get(c, c.replace("_", " "))) for c in f.choices]
        return forms.ChoiceField(label=label, required=False, choices=choices, initial=f.default or "")
    if f.type == "int":
        return forms.IntegerField(
            label=label,
            required=False,
            min_value=int(f.low) if f.low is not None else None,
            max_value=int(f.high) if f.high is not None else None,
            initial=f.default,
        )
    if f.type == "float":
        return forms.FloatField(label=label, required=False, min_value=f.low, max_value=f.high, initial=f.default)
    if f.type == "datetime":
        return forms.DateTimeField(
            label=label,
            required=False,
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            help_text=_("local time"),
        )
    if f.type == "date":
        return forms.DateField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))
    return forms.CharField(label=label, required=False, max_length=f.max_length)


def _choice_labels(kind: str, name: str) -> dict[str, Any]:
    """Readable, translatable labels for the schemas' choice values."""
    from iccc.network.models import VARIANTS

    labels: dict[str, Any] = dict(DETAIL_CHOICE_LABELS)
    for value, label in VARIANTS.get(kind, ()):
        labels[value] = label
    return labels


DETAIL_CHOICE_LABELS: dict[str, Any] = {
    "positive": _("Positive"),
    "suspected": _("Suspected"),
    "negative": _("Negative"),
    "general": _("General physician"),
    "chest": _("Chest specialist"),
    "paediatric": _("Children's doctor"),
    "mental_health": _("Mental health"),
    "emergency": _("Emergency (now)"),
    "scheduled": _("Scheduled"),
    "home": _("Home"),
    "hospital": _("Hospital"),
    "other": _("Other"),
    "vegetarian": _("Vegetarian"),
    "non_vegetarian": _("Non-vegetarian"),
    "jain": _("Jain"),
    "diabetic": _("Diabetic"),
    "soft": _("Soft food (elderly, ill)"),
    "rtpcr": _("RT-PCR"),
    "rat": _("Rapid antigen"),
}


class RaiseRequestForm(forms.Form):
    """Raise a request: who, where, what; then the chosen service's own fields (`d_<kind>_<field>`)."""

    kind = forms.ChoiceField(label=_("Service"), choices=ServiceKind.choices)
    channel = forms.ChoiceField(
        label=_("Came in by"), choices=[(c.value, c.label) for c in STAFF_CHANNELS], initial=Channel.CALL_CONSOLE
    )
    urgency = forms.ChoiceField(
        label=_("Urgency you judge"),
        required=False,
        choices=[("", _("By the triage rule")), *Priority.choices],
        help_text=_("The rule may raise it (danger signs, low SpO2), never lower it."),
    )
    case = forms.UUIDField(required=False, widget=forms.HiddenInput)
    patient_name = forms.CharField(label=_("Patient / for whom"), required=False, max_length=160)
    patient_age = forms.IntegerField(label=_("Age"), required=False, min_value=0, max_value=120)
    requester_name = forms.CharField(label=_("Requester (who asked)"), required=False, max_length=160)
    requester_phone = forms.CharField(
        label=_("Requester's phone"),
        required=False,
        max_length=32,
        help_text=_("The confirmation code is sent here."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )
    zone = forms.ModelChoiceField(label=_("Zone"), required=False, queryset=Zone.objects.none())
    address = forms.CharField(
        label=_("Address"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
    spo2 = forms.IntegerField(label=_("SpO2 (%)"), required=False, min_value=50, max_value=100)
    signs = forms.MultipleChoiceField(
        label=_("Danger signs"), required=False, choices=RedSign.choices, widget=forms.CheckboxSelectMultiple
    )
    summary = forms.CharField(
        label=_("What they said"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    route_now = forms.BooleanField(
        label=_("Triage and route at once"),
        required=False,
        initial=True,
        help_text=_("Untick to leave it on the board as new for another operator to check."),
    )

    def __init__(self, *args: Any, district_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = cast(forms.ModelChoiceField, self.fields["zone"])
        zone.queryset = Zone.objects.filter(district_id=district_id or 0).order_by("code")
        for kind, schema in DETAIL_SCHEMAS.items():
            for f in schema:
                self.fields[detail_field_name(kind, f.name)] = _form_field(kind, f)

    def kind_fieldsets(self) -> list[dict[str, Any]]:
        """Each service's fields, for the template (shown for the chosen service only)."""
        labels = dict(ServiceKind.choices)
        return [
            {
                "kind": kind,
                "label": labels.get(kind, kind),
                "fields": [self[detail_field_name(kind, f.name)] for f in schema],
                "required": {detail_field_name(kind, f.name) for f in schema if f.required},
            }
            for kind, schema in DETAIL_SCHEMAS.items()
        ]

    def details(self) -> dict[str, Any]:
        """The chosen service's fields as the request's `details` (blank ones left out)."""
        kind = self.cleaned_data.get("kind", "")
        out: dict[str, Any] = {}
        for f in DETAIL_SCHEMAS.get(kind, ()):
            value = self.cleaned_data.get(detail_field_name(kind, f.name))
            if value is None or value == "":
                continue
            if f.type == "bool" and not value:
                continue
            out[f.name] = value.isoformat() if hasattr(value, "isoformat") else value
        return out

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Put the services' field errors ("details.bed_type", "requester_phone") on the form's fields."""
        kind = self.cleaned_data.get("kind", "")
        for key, messages in errors.items():
            name = key
            if key.startswith("details."):
                name = detail_field_name(kind, key.split(".", 1)[1])
            if name not in self.fields:
                name = None  # type: ignore[assignment]
            for message in messages:
                self.add_error(name, message)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), min_length=REASON_MIN, max_length=300)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    shared = forms.BooleanField(
        label=_("Show to the partner"), required=False, initial=True, help_text=_("Untick for ICCC-only notes.")
    )


class OptionalNoteForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=1000)


class ConfirmForm(forms.Form):
    code = forms.RegexField(
        label=_("Code the requester read out"),
        regex=r"^\s*\d{4,8}\s*$",
        error_messages={"invalid": _("The code is 4 to 8 digits.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "size": 8}),
    )


class TriageForm(forms.Form):
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", _("Keep the rule's priority")), *Priority.choices]
    )
    reason = forms.CharField(label=_("Reason for a different priority"), required=False, max_length=300)


class SatisfactionForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How satisfied was the requester? (1 = not at all, 5 = fully)"),
        coerce=int,
        choices=[(i, str(i)) for i in range(1, 6)],
        widget=forms.RadioSelect,
    )


class ReassignForm(forms.Form):
    offering = forms.TypedChoiceField(label=_("Give it to"), required=False, coerce=int, empty_value=None, choices=())
    reason = forms.CharField(label=_("Reason"), min_length=REASON_MIN, max_length=300)

    def __init__(self, *args: Any, offerings: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.TypedChoiceField, self.fields["offering"])
        field.choices = [("", _("The next best partner (routing rule)")), *offerings]


BULK_TRIAGE = "triage"
BULK_REASSIGN = "reassign"
BULK_CANCEL = "cancel"


class BulkForm(forms.Form):
    """The board's bulk actions on the ticked requests."""

    action = forms.ChoiceField(
        label=_("With the selected"),
        choices=[
            (BULK_TRIAGE, _("Triage and route")),
            (BULK_REASSIGN, _("Reassign to the next best partner")),
            (BULK_CANCEL, _("Cancel")),
        ],
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)
    ids = forms.TypedMultipleChoiceField(choices=(), coerce=str)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = cast(forms.TypedMultipleChoiceField, self.fields["ids"])
        ids.choices = [(v, v) for v in self.data.getlist("ids")] if hasattr(self.data, "getlist") else []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") in (BULK_REASSIGN, BULK_CANCEL) and len((data.get("reason") or "").strip()) < REASON_MIN:
            self.add_error("reason", _("Give a reason (kept on each request's timeline and in the audit log)."))
        return data
