"""Forms for the staff pages. Choices are always the signed-in district's own objects."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm

from naviance_sync.models import District
from naviance_sync.scoping import for_district

from .models import JobFunction, Role, StaffImportSettings, TitleKeywordRule, Zone
from .services import SETTINGS_FIELDS


def _district_choices(form: forms.Form, district: District) -> None:
    for field in form.fields.values():
        if isinstance(field, forms.ModelChoiceField):
            field.queryset = for_district(field.queryset.model, district)


class StaffImportSettingsForm(forms.ModelForm):
    """Defaults for titles without a keyword, the not-in-Clever role and the district zone."""

    class Meta:
        model = StaffImportSettings
        fields = SETTINGS_FIELDS
        labels = {
            "school_default_function": "Function",
            "school_default_role": "Role",
            "school_default_teacher_list": "Include in Teacher List",
            "school_default_counselor_list": "Include in Counselor List",
            "district_default_function": "Function",
            "district_default_role": "Role",
            "district_default_teacher_list": "Include in Teacher List",
            "district_default_counselor_list": "Include in Counselor List",
            "not_in_clever_role": "Role for staff in the product but not in Clever",
            "default_district_zone": "Zone for new district staff",
            "sso_enabled": "Staff sign in with Clever single sign-on (no welcome email)",
        }
        help_texts = {
            "not_in_clever_role": "Their accounts are kept (never deleted) and reported Inactive.",
            "default_district_zone": (
                "Leave empty for unrestricted access to every school. We recommend a "
                "\u201cNo Schools Zone\u201d so new district staff start restricted."
            ),
            "sso_enabled": (
                "Off: each new staff member gets an email with a link to set a password."
            ),
        }

    def __init__(self, *args, district: District, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _district_choices(self, district)
        for name in ("school_default_role", "district_default_role", "not_in_clever_role"):
            self.fields[name].required = True
            self.fields[name].empty_label = "Choose a role"
        for name in ("school_default_function", "district_default_function"):
            self.fields[name].empty_label = "No function"
        self.fields["default_district_zone"].empty_label = "No zone: unrestricted access"


class KeywordRuleForm(forms.ModelForm):
    """One title keyword rule (Add New, or an edit of an existing rule)."""

    class Meta:
        model = TitleKeywordRule
        fields = ("keyword", "job_function", "role", "on_teacher_list", "on_counselor_list")
        labels = {
            "keyword": "Title keyword",
            "job_function": "Function",
            "role": "Role",
            "on_teacher_list": "Teacher List",
            "on_counselor_list": "Counselor List",
        }

    def __init__(self, *args, district: District, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.district = district
        _district_choices(self, district)
        self.fields["job_function"].empty_label = "Default function"
        self.fields["role"].empty_label = "Default role"

    def clean_keyword(self) -> str:
        keyword = " ".join((self.cleaned_data.get("keyword") or "").split())
        if not keyword:
            raise forms.ValidationError("Enter a keyword, for example Counselor.")
        clash = for_district(TitleKeywordRule, self.district).filter(keyword__iexact=keyword)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(
                f"There is already a rule for \u201c{keyword}\u201d (keywords ignore capital "
                "letters)."
            )
        return keyword


class StaffAccountForm(forms.Form):
    """Set a staff member's role, function and lists by hand."""

    role = forms.ModelChoiceField(queryset=Role.objects.none(), required=False)
    job_function = forms.ModelChoiceField(
        queryset=JobFunction.objects.none(), required=False, label="Function"
    )
    on_teacher_list = forms.BooleanField(required=False, label="Teacher List")
    on_counselor_list = forms.BooleanField(required=False, label="Counselor List")

    def __init__(self, *args, district: District, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = for_district(Role, district)
        self.fields["job_function"].queryset = for_district(JobFunction, district)


class ZoneChoiceForm(forms.Form):
    zone = forms.ModelChoiceField(queryset=Zone.objects.none())

    def __init__(self, *args, district: District, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = for_district(Zone, district)


class SignInForm(AuthenticationForm):
    """Password sign-in that says why a deactivated account cannot sign in.

    Django's ModelBackend refuses inactive accounts like a wrong password, so a teacher who left
    the district (an import deactivated the account) would be told to retype a password that is
    right. Only with the right password is the account's state said: the same as Django's own
    ``AllowAllUsersModelBackend`` form, without letting inactive accounts keep sessions.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "inactive": (
            "This account is inactive, so it cannot sign in: it was deactivated, for example "
            "because its owner is no longer in the district's staff records in Clever. If you "
            "still work here, ask your district administrator."
        ),
    }

    inactive_account = False

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError as exc:
            if exc.code == "invalid_login" and self._inactive_with_this_password():
                self.inactive_account = True
                raise forms.ValidationError(
                    self.error_messages["inactive"], code="inactive"
                ) from None
            raise

    def _inactive_with_this_password(self) -> bool:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password or getattr(self.request, "axes_locked_out", False):
            return False
        UserModel = get_user_model()
        try:
            user = UserModel._default_manager.get_by_natural_key(username)
        except UserModel.DoesNotExist:
            return False
        return not user.is_active and user.check_password(password)


class RoleForm(forms.Form):
    """A district role: its name and what it may do (the service checks names and the last
    role that can import district data)."""

    name = forms.CharField(label="Role name", max_length=100, strip=True)
    can_import_district_data = forms.BooleanField(
        required=False,
        label="Can import district data",
        help_text="Sees the Clever integrations and runs imports (students and staff).",
    )
    is_limited = forms.BooleanField(
        required=False,
        label="Limited permissions",
        help_text="The role for newly imported staff whose titles match no keyword.",
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].replace("\x00", "").split())
        if not name:
            raise forms.ValidationError("Enter a name for the role, for example Counselor.")
        return name


class FunctionForm(forms.Form):
    name = forms.CharField(label="Function name", max_length=100, strip=True)

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].replace("\x00", "").split())
        if not name:
            raise forms.ValidationError("Enter a name for the function, for example Counseling.")
        return name
