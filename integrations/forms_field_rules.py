"""The Field Rules form: one choice per field a rule can apply to."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms

from .engine.field_rules import RULES
from .field_rules import FieldRuleRow


class FieldRulesForm(forms.Form):
    def __init__(self, *args, rows: Sequence[FieldRuleRow], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            self.fields[f"rule_{row.field}"] = forms.ChoiceField(
                label=row.label,
                choices=RULES,
                initial=row.rule,
                error_messages={
                    "required": f"Choose who wins for {row.label}.",
                    "invalid_choice": f"Choose who wins for {row.label}: "
                    + ", ".join(label for _value, label in RULES)
                    + ".",
                },
            )

    def rules(self) -> dict[str, str]:
        return {row.field: self.cleaned_data[f"rule_{row.field}"] for row in self.rows}

    def bound_rows(self) -> list[tuple[FieldRuleRow, forms.BoundField]]:
        return [(row, self[f"rule_{row.field}"]) for row in self.rows]
