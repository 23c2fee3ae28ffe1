"""The form a partner (or a command lead) uses to keep an offering's day-to-day facts current."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from iccc.network.models import Weekday


class OfferingHoursForm(forms.Form):
    """Capacity, hours and days, and pausing (with a reason). Checked again by `update_offering`."""

    daily_capacity = forms.IntegerField(label=_("Requests per day"), min_value=1, max_value=100_000)
    open_24x7 = forms.BooleanField(label=_("Open 24x7"), required=False)
    opens_at = forms.TimeField(label=_("Opens at"), required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    closes_at = forms.TimeField(label=_("Closes at"), required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    days = forms.TypedMultipleChoiceField(
        label=_("Days open"),
        required=False,
        coerce=int,
        choices=Weekday.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked = every day."),
    )
    is_active = forms.BooleanField(label=_("Taking requests"), required=False)
    reason = forms.CharField(label=_("Reason (when pausing)"), required=False, max_length=300)

    def changes(self) -> dict[str, Any]:
        d = self.cleaned_data
        out: dict[str, Any] = {
            "daily_capacity": d["daily_capacity"],
            "open_24x7": d["open_24x7"],
            "days": sorted(d["days"]) if len(d["days"]) < 7 else [],
            "is_active": d["is_active"],
        }
        if not d["open_24x7"]:
            out["opens_at"] = d["opens_at"]
            out["closes_at"] = d["closes_at"]
        return out
