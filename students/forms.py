"""The student edit form: the mapped fields a counselor corrects by hand."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from .fields import FIELDS_BY_NAME
from .models import Student

# The fields the Student page lets a person correct (every one is a field rule field; the
# school and the student ID place and link the record and always come from Clever).
EDITABLE_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "birth_date",
    "graduation_year",
    "weighted_gpa",
    "unweighted_gpa",
    "district_username",
    "state_id",
    "student_number",
)
_GPA_MAX = Decimal("999.999")


class StudentEditForm(forms.ModelForm):
    class Meta:
        model = Student
        fields = EDITABLE_FIELDS
        # The labels Match Fields shows for the same fields (students/fields.py).
        labels = {name: FIELDS_BY_NAME[name].label for name in EDITABLE_FIELDS}
        help_texts = {"birth_date": "As YYYY-MM-DD, e.g. 2009-05-31."}
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, words in (("first_name", "first name"), ("last_name", "last name")):
            self.fields[name].required = True
            self.fields[name].error_messages["required"] = f"Enter the student's {words}."
        self.fields["birth_date"].error_messages["invalid"] = (
            "Enter the birth date as YYYY-MM-DD, e.g. 2009-05-31."
        )
        for name in ("weighted_gpa", "unweighted_gpa"):
            label = self.fields[name].label
            self.fields[name].error_messages["invalid"] = f"Enter {label} as a number, e.g. 3.75."

    def clean_email(self) -> str:
        email = (self.cleaned_data.get("email") or "").strip()
        if email:
            forms.EmailField(
                error_messages={"invalid": "Enter a valid email address, e.g. name@school.org."}
            ).clean(email)
        return email

    def clean_graduation_year(self) -> int | None:
        year = self.cleaned_data.get("graduation_year")
        if year is not None and not 1900 <= year <= 2100:
            raise forms.ValidationError("Enter a graduation year between 1900 and 2100.")
        return year

    def _gpa(self, name: str) -> Decimal | None:
        value = self.cleaned_data.get(name)
        if value is not None and not Decimal(0) <= value <= _GPA_MAX:
            raise forms.ValidationError(f"Enter {self.fields[name].label} between 0 and 999.999.")
        return value

    def clean_weighted_gpa(self) -> Decimal | None:
        return self._gpa("weighted_gpa")

    def clean_unweighted_gpa(self) -> Decimal | None:
        return self._gpa("unweighted_gpa")
