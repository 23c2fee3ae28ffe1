"""Forms of the registry pages: search, lab-result upload, duplicate decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from iccc.registry.lookup import MAX_QUERY_LENGTH

IMPORT_EXTENSIONS = (".csv", ".xlsx")


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name, phone or SRF ID"),
        max_length=MAX_QUERY_LENGTH,
        required=False,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "autocomplete": "off",
                "autofocus": True,
                "spellcheck": "false",
                # Active search: the box asks for results itself as the user types (HTMX).
                "hx-get": reverse_lazy("registry:search"),
                "hx-trigger": "input changed delay:300ms, search",
                "hx-target": "#search-results",
                "hx-push-url": "true",
                "placeholder": _("e.g. Ravi Kumar, a mobile number, an SRF ID"),
            }
        ),
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Lab line list (CSV or XLSX)"),
        help_text=_("The ICMR line-list export as received from the lab. Re-uploading the same file changes nothing."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        suffix = Path(upload.name or "").suffix.lower()
        if suffix not in IMPORT_EXTENSIONS:
            raise forms.ValidationError(
                _("%(name)s is not a CSV or XLSX file. Export the line list as .csv or .xlsx and upload it again."),
                params={"name": upload.name},
                code="extension",
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."), code="empty")
        limit = settings.ICCC_MAX_IMPORT_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s; this installation accepts at most %(limit)s. Split it and upload the parts."),
                params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
                code="too_large",
            )
        return upload


class Decision:
    MERGE = "merge"
    DISTINCT = "distinct"


class DuplicateDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[(Decision.MERGE, _("Same person: merge")), (Decision.DISTINCT, _("Not the same person"))],
        widget=forms.RadioSelect,
    )
    keep = forms.ChoiceField(
        label=_("Keep which record"),
        choices=[("person", _("Left record")), ("candidate", _("Right record"))],
        required=False,
        initial="person",
        widget=forms.RadioSelect,
        help_text=_("When merging: the record that stays; the other's cases and results move to it."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        min_length=5,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required: what you checked (e.g. 'spoke to the family: father and son, same phone')."),
    )
