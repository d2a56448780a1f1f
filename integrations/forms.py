"""Forms of the Clever integration configuration pages.

Forms only translate the page to the services' arguments and back; the rules live in
:mod:`integrations.config` and :mod:`integrations.schools`. Every field carries its errors and help
to assistive technology (``aria-invalid``, ``aria-describedby``), and a form with errors keeps
what was typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from django import forms

from students.fields import CLASS_YEAR_FROM_GRADE, CLASS_YEAR_FROM_GRADE_LABEL, LocalField

from . import fieldkinds
from .config.rules import clever_value_label, parse_recipients
from .models import CleverConnection, SyncSettings

DO_NOT_IMPORT_LABEL = "Do Not Import"
NOT_MATCHED_LABEL = "— Not matched —"
NOT_MAPPED_LABEL = "— Not mapped —"


class AccessibleForm(forms.Form):
    """Links each field's help and errors to it, and marks fields with errors as invalid."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._describe()

    def _describe(self) -> None:
        for name, field in self.fields.items():
            bound = self[name]
            ids = []
            if field.help_text:
                ids.append(f"{bound.auto_id}_help")
            if self.is_bound and self._errors is not None and name in self._errors:
                ids.insert(0, f"{bound.auto_id}_error")
                field.widget.attrs["aria-invalid"] = "true"
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)
        # BoundField copies help text when created: let later changes to fields show.
        self._bound_fields_cache.clear()

    def full_clean(self):
        super().full_clean()
        self._describe()

    def add_service_errors(self, errors: dict) -> None:
        """Errors a service raised (keyed by form field name) shown beside their fields."""
        for name, message in errors.items():
            self.add_error(name if name in self.fields else None, message)
        self._describe()


class SetupForm(AccessibleForm):
    """The guide's setup step: the Clever district ID only. The application fetches the
    district's token itself (a district admin never holds or types one); the API address is
    support's (Django admin, ``clever_setup --api-url``)."""

    clever_district_id = forms.CharField(
        label="Clever district ID",
        max_length=64,
        help_text=(
            "The 24-character district ID shown in your Clever account. Your district must "
            "share its data with this application in Clever first."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    previous_integration = forms.ChoiceField(
        label="Data integration you use today",
        choices=CleverConnection.PreviousIntegration.choices,
        widget=forms.RadioSelect,
        initial=CleverConnection.PreviousIntegration.NONE,
    )

    def clean_clever_district_id(self) -> str:
        value = (self.cleaned_data.get("clever_district_id") or "").strip()
        if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", value):
            raise forms.ValidationError(
                "A Clever district ID has only letters and digits (24 of them), without spaces: "
                "copy it again from your Clever account."
            )
        return value


class ResetForm(AccessibleForm):
    confirm = forms.BooleanField(
        label="I understand: the automated sync stops until the integration is set up again. "
        "Existing Naviance data is kept.",
        error_messages={"required": "Tick the box to confirm the reset."},
    )


class SchoolMatchForm(AccessibleForm):
    """One Matching Clever School list per local school (``school_<pk>``)."""

    def __init__(self, *args, rows: Sequence, clever_schools: Iterable, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", NOT_MATCHED_LABEL)] + [
            (c.clever_id, _school_label(c)) for c in clever_schools
        ]
        self.rows = rows
        for row in rows:
            name = f"school_{row.school.pk}"
            field = forms.ChoiceField(
                label=f"Matching Clever school for {row.school.name}",
                choices=choices,
                required=False,
                initial=row.chosen_clever_id,
                disabled=row.locked,
            )
            if row.locked:
                field.help_text = (
                    "Locked: an import already brought this school's records, so the match "
                    "cannot change."
                )
            elif row.suggested and not row.is_matched:
                field.help_text = (
                    "Suggested by NCES ID."
                    if row.suggested.method == "nces"
                    else "Suggested by school name."
                )
            self.fields[name] = field
        self._describe()

    def choices_by_school(self) -> dict[int, str]:
        return {
            row.school.pk: self.cleaned_data.get(f"school_{row.school.pk}") or ""
            for row in self.rows
            if not row.locked
        }

    def bound_rows(self):
        return [(row, self[f"school_{row.school.pk}"]) for row in self.rows]


def _school_label(clever_school) -> str:
    extra = f" (NCES {clever_school.nces_id})" if clever_school.nces_id else ""
    new = " — new in Clever since setup" if clever_school.new_since_setup else ""
    return f"{clever_school.name}{extra}{new}"


class FieldMappingForm(AccessibleForm):
    """One Matching Clever Field list per local field (``map_<field>``)."""

    confirm_link_change = forms.BooleanField(
        label="I understand: existing students will be re-matched on the new Clever field for "
        "Student ID. Records that do not match will be created again or raise alerts.",
        required=False,
    )

    def __init__(
        self,
        *args,
        local_fields: Sequence[LocalField],
        available: Sequence[str],
        initial_mapping: dict[str, str],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.local_fields = local_fields
        for f in local_fields:
            current = initial_mapping.get(f.name, f.default_clever_field)
            # Only Clever fields of a fitting kind; the saved or typed one stays listed (a form
            # error keeps it, and the error says why it does not fit).
            fitting = fieldkinds.options_for(f.name, available) if f.changeable else []
            options = list(dict.fromkeys([*fitting, current, f.default_clever_field]))
            choices: list[tuple[str, str]] = []
            if not f.required:
                choices.append(("", DO_NOT_IMPORT_LABEL))
            if f.name == "class_year":
                choices.append((CLASS_YEAR_FROM_GRADE, CLASS_YEAR_FROM_GRADE_LABEL))
            choices += [
                (path, fieldkinds.path_label(path))
                for path in options
                if path and path != CLASS_YEAR_FROM_GRADE
            ]
            field = forms.ChoiceField(
                label=f.label,
                choices=choices,
                required=f.required,
                initial=current,
                disabled=not f.changeable,
                help_text=f.help,
                error_messages={
                    "required": f"{f.label} is required: choose the Clever field it comes from.",
                    "invalid_choice": f"Choose one of the listed Clever fields for {f.label}.",
                },
            )
            self.fields[f"map_{f.name}"] = field
        self.fields["confirm_link_change"] = self.fields.pop("confirm_link_change")
        self._describe()

    def mapping(self) -> dict[str, str]:
        return {f.name: self.cleaned_data.get(f"map_{f.name}") or "" for f in self.local_fields}

    def bound_rows(self):
        return [(f, self[f"map_{f.name}"]) for f in self.local_fields]


class CodesForm(AccessibleForm):
    """For each coded field, one local-code list per Clever value found (``code_<field>_<n>``)."""

    def __init__(
        self,
        *args,
        sections: Sequence[dict],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.sections = sections
        for section in sections:
            choices = [("", NOT_MAPPED_LABEL), *section["choices"]]
            label = section["field"].label
            for i, value in enumerate(section["values"]):
                where = f"{label} {clever_value_label(value)}".replace("%", "%%")
                self.fields[f"code_{section['field'].name}_{i}"] = forms.ChoiceField(
                    label=f"{label} code for Clever value {clever_value_label(value)}",
                    choices=choices,
                    required=False,
                    initial=section["initial"].get(value, ""),
                    error_messages={
                        "invalid_choice": f"{where}: “%(value)s” is not a {label.lower()} code; "
                        "choose a code from the list or leave it blank."
                    },
                )
        self._describe()

    def codes(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for section in self.sections:
            name = section["field"].name
            out[name] = {
                value: self.cleaned_data.get(f"code_{name}_{i}") or ""
                for i, value in enumerate(section["values"])
            }
        return out

    def add_code_errors(self, value_errors: dict[tuple[str, str], str]) -> None:
        """Errors the service raised per (field, Clever value), beside that value's list."""
        names = {
            (section["field"].name, value): f"code_{section['field'].name}_{i}"
            for section in self.sections
            for i, value in enumerate(section["values"])
        }
        for key, message in value_errors.items():
            self.add_error(names.get(key), message)
        self._describe()

    def bound_sections(self):
        return [
            {
                **section,
                "rows": [
                    (value, self[f"code_{section['field'].name}_{i}"])
                    for i, value in enumerate(section["values"])
                ],
            }
            for section in self.sections
        ]


def _percent_limit(*, label: str, max_value: int, what: str, example: int) -> forms.DecimalField:
    """A limit per operation as a share of the scope, blank for none (Sync Settings)."""
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=0.01,
        max_value=max_value,
        decimal_places=2,
        help_text=f"An import that would {what} stops for your review. Leave blank for no limit.",
        error_messages={
            "min_value": "Enter a percentage above 0, or leave it blank for no limit.",
            "max_value": f"Enter a percentage of at most {max_value}, or leave it blank for no "
            "limit.",
            "invalid": f"Enter a number, for example {example}.",
        },
    )


class SyncSettingsForm(AccessibleForm):
    scope = forms.ChoiceField(
        label="Schools",
        choices=SyncSettings.Scope.choices,
        widget=forms.RadioSelect,
    )
    schools = forms.MultipleChoiceField(
        label="Schools to sync",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only schools matched to a Clever school can be chosen.",
    )
    frequency = forms.ChoiceField(
        label="Data update frequency", choices=SyncSettings.Frequency.choices
    )
    import_rule = forms.ChoiceField(
        label="Import rule", choices=SyncSettings.ImportRule.choices, widget=forms.RadioSelect
    )
    threshold_pct = forms.DecimalField(
        label="Mass-inactivation threshold (%)",
        min_value=0.01,
        max_value=100,
        decimal_places=2,
        help_text="An import that would make more than this share of a school's active records "
        "inactive stops and waits for your review.",
        error_messages={
            "min_value": "Enter a percentage above 0.",
            "max_value": "Enter a percentage of at most 100.",
            "invalid": "Enter a number, for example 10.",
        },
    )

    update_limit_pct = _percent_limit(
        label="Update limit (%)",
        max_value=100,
        what="update more than this share of the records in scope",
        example=75,
    )
    create_limit_pct = _percent_limit(
        label="Create limit (%)",
        max_value=1000,
        what="create more new records than this share of the records in scope",
        example=20,
    )
    sensitive_change_limit = forms.IntegerField(
        label="Date of birth / ID change limit (records)",
        required=False,
        min_value=0,
        max_value=1_000_000,
        help_text="An import that would change the date of birth or ID of more records than "
        "this stops for your review. Leave blank for no limit.",
        error_messages={
            "min_value": "Enter a number of records, 0 or more, or leave it blank.",
            "max_value": "Enter at most 1,000,000 records, or leave it blank.",
            "invalid": "Enter a whole number of records, for example 5.",
        },
    )
    source_drop_limit_pct = forms.DecimalField(
        label="Source check: largest drop (%)",
        required=False,
        min_value=1,
        max_value=100,
        decimal_places=2,
        help_text="An import is held before anything is planned when Clever sends this much "
        "fewer records or schools than the last successful import (blank: 50).",
        error_messages={
            "min_value": "Enter a percentage of at least 1.",
            "max_value": "Enter a percentage of at most 100.",
            "invalid": "Enter a number, for example 50.",
        },
    )

    inactivate_after_syncs = forms.IntegerField(
        label="Inactivate only after N consecutive syncs without the record",
        required=False,
        min_value=1,
        max_value=30,
        help_text="A record Clever no longer sends stays active, listed as missing from Clever, "
        "until this many full syncs in a row have not found it (blank: 1, at the first sync "
        "without it). Events updates do not count.",
        error_messages={
            "min_value": "Enter a number of syncs from 1 to 30 (1: inactivate at the first sync "
            "without the record).",
            "max_value": "Enter a number of syncs from 1 to 30: a record can wait for at most "
            "30 syncs.",
            "invalid": "Enter a whole number of syncs from 1 to 30, for example 3.",
        },
    )

    def __init__(self, *args, matched_schools: Sequence, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["schools"].choices = [(str(s.pk), s.name) for s in matched_schools]
        self._describe()

    def clean(self):
        data = super().clean()
        if data.get("scope") == SyncSettings.Scope.SPECIFIC and not data.get("schools"):
            self.add_error("schools", "Choose at least one school, or choose All Mapped Schools.")
        return data


class RecipientsForm(AccessibleForm):
    recipients = forms.CharField(
        label="Add Email Recipients",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=(
            "Use a comma to separate multiple email addresses. They are added to the recipients "
            "listed above, who keep receiving each import's status; click Remove beside an "
            "address to stop emailing it."
        ),
    )

    def clean_recipients(self):
        text = self.cleaned_data.get("recipients") or ""
        emails, errors = parse_recipients(text)
        if errors:
            raise forms.ValidationError(errors)
        return ", ".join(emails)
