"""Support staff: district accounts, roles and staff settings, every change in the district's
audit log (:class:`naviance_sync.admin_audit.DistrictAuditedAdmin`).

Support never sets or sees a password: the set-password page is refused and an account gets a
password link by email instead (the welcome email's link, audited); accounts support adds start
without a usable password.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied

from naviance_sync.admin_audit import DistrictAuditedAdmin
from naviance_sync.audit import audit_record

from .emails import send_password_link
from .models import JobFunction, Role, StaffImportSettings, TitleKeywordRule, User, Zone
from .services import usernames_taken


class RoleChoiceField(forms.ModelChoiceField):
    """Roles by name and district ("District Site Manager — Maple Valley"), not a raw id."""

    def label_from_instance(self, obj: Role) -> str:
        return f"{obj.name} — {obj.district.name}"


def _district_roles_field(form: forms.ModelForm) -> None:
    """The role list: by name, the account's district's roles first when it has one."""
    field = form.fields.get("role")
    if field is None:
        return
    district_id = form.instance.district_id if form.instance.pk else None
    roles = Role.objects.select_related("district").order_by("district__name", "name")
    if district_id:
        roles = roles.filter(district_id=district_id)
    form.fields["role"] = RoleChoiceField(
        queryset=roles,
        required=False,
        label="Role",
        empty_label="No role",
        help_text="The district's roles by name. A role of another district is refused.",
    )


class _UnlessUnchanged:
    """A field validator that lets the value the account already has through as it is."""

    def __init__(self, validator, kept: str) -> None:
        self.validator, self.kept = validator, kept

    def __call__(self, value) -> None:
        if value != self.kept:
            self.validator(value)


# Checked only when support changes them. An import stores the email Clever sent even where
# Django's validator refuses it (Clever validates none: "józef@szkoła.example", ``say"hi"@...``;
# a bad field is a warning, DESIGN.md), and accounts from before usernames were checked may have
# one Django's validator refuses. The change form validated both on every save, so support could
# change nothing else on such an account ("Enter a valid email address"). What support types is
# checked as before. "Unchanged" is the stored value exactly: a username the field would rewrite
# (``UsernameField`` applies NFKC) counts as changed and is checked, its uniqueness included.
KEPT_AS_THEY_CAME = ("username", "email")


def _keep_what_came_unchanged(form: forms.ModelForm) -> dict[str, str]:
    """Wrap the form's validators of ``KEPT_AS_THEY_CAME``; the values they let through."""
    kept = {}
    for name in KEPT_AS_THEY_CAME:
        field = form.fields.get(name)
        value = getattr(form.instance, name, None)
        if field is None or not value:
            continue
        kept[name] = value
        field.validators = [_UnlessUnchanged(v, value) for v in field.validators]
    return kept


def _username_free_in_any_case(form: forms.ModelForm) -> str:
    """``clean_username``: a username support types that another account has in another case
    ("Ana@X.org" beside "ana@x.org": one address, two accounts) is refused, as the import never
    gives one (``staff.services.usernames_taken``)."""
    username = form.cleaned_data.get("username") or ""
    if username and username != form.instance.username:
        if usernames_taken([username.lower()], exclude_pk=form.instance.pk):
            raise forms.ValidationError(
                "Another account already has this username (in this or another case); usernames "
                "must differ by more than case."
            )
    return username


def _check_role_district(form: forms.ModelForm, cleaned: dict) -> dict:
    role, district = cleaned.get("role"), cleaned.get("district", form.instance.district)
    if role is not None and (district is None or role.district_id != district.pk):
        whose = f"{district.name}\u2019s" if district else "the account\u2019s district\u2019s"
        form.add_error(
            "role",
            f"\u201c{role.name}\u201d is a role of {role.district.name}; choose one of "
            f"{whose} roles.",
        )
    return cleaned


class SupportUserCreationForm(forms.ModelForm):
    """A new account without a password: the person sets one from the emailed link."""

    class Meta:
        model = User
        fields = ("username", "email", "first_name", "last_name", "district", "role")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _district_roles_field(self)

    def clean_username(self):
        return _username_free_in_any_case(self)

    def clean(self):
        return _check_role_district(self, super().clean())

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


@admin.action(description="Send a password link by email (support never sets a password)")
def send_password_links(modeladmin, request, queryset):
    sent = 0
    for user in queryset.select_related("district"):
        if not user.email:
            continue
        send_password_link(user)
        audit_record(
            district=user.district,
            actor=request.user,
            action="support.user.password_link_sent",
            obj=user,
            field="email",
            new=user.email,
        )
        sent += 1
    modeladmin.message_user(
        request,
        f"Password link sent to {sent} account(s); accounts without an email were skipped.",
        messages.SUCCESS,
    )


@admin.register(User)
class UserAdmin(DistrictAuditedAdmin, BaseUserAdmin):
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "district",
        "role",
        "is_staff",
        "is_active",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "account_type")
    search_fields = (
        "username",
        "email",
        "first_name",
        "last_name",
        "employee_id",
        "clever_id",
        "district__name",
    )
    list_select_related = ("district", "role")
    autocomplete_fields = ("district",)
    # The role is a list of names (``_district_roles_field``); functions and zones stay ids.
    raw_id_fields = ("job_function", "zone")
    show_full_result_count = False
    actions = [send_password_links]
    add_form = SupportUserCreationForm
    add_fieldsets = (
        (
            None,
            {"fields": ("username", "email", "first_name", "last_name", "district", "role")},
        ),
    )
    fieldsets = (
        (None, {"fields": ("username",)}),
        *BaseUserAdmin.fieldsets[1:],
    ) + (
        (
            "District account",
            {
                "fields": (
                    "district",
                    "role",
                    "account_type",
                    "middle_name",
                    "job_title",
                    "employee_id",
                    "clever_id",
                    "job_function",
                    "on_teacher_list",
                    "on_counselor_list",
                    "zone",
                    "role_source",
                    "function_source",
                    "inactive_since",
                )
            },
        ),
    )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            return form

        class SupportUserChangeForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                _district_roles_field(self)
                self.kept = _keep_what_came_unchanged(self)

            def clean_username(self):
                return _username_free_in_any_case(self)

            def _unchanged(self, name: str) -> bool:
                """Whether support left this ``KEPT_AS_THEY_CAME`` field as it was stored."""
                data = getattr(self, "cleaned_data", {})
                return name in self.kept and data.get(name) == self.kept[name]

            def _get_validation_exclusions(self):
                # The model's own validators run again after the form's (ModelForm._post_clean):
                # an unchanged value skips them too.
                exclude = super()._get_validation_exclusions()
                return exclude | {name for name in self.kept if self._unchanged(name)}

            def clean(self):
                return _check_role_district(self, super().clean())

            def save(self, commit=True):
                # ``AbstractUser.clean`` lower-cases the email's domain on every save; an email
                # support did not change stays as the import wrote it, or the next import would
                # report the account updated (and a "local edits kept" rule would keep the copy).
                if self._unchanged("email"):
                    self.instance.email = self.kept["email"]
                return super().save(commit)

        return SupportUserChangeForm

    def user_change_password(self, request, id, form_url=""):
        """Support never sets a password (it would know it): send a password link instead."""
        raise PermissionDenied("Support sends a password link; it never sets a password.")


@admin.register(Role)
class RoleAdmin(DistrictAuditedAdmin, admin.ModelAdmin):
    list_display = ("name", "district", "can_import_district_data", "is_limited")
    list_filter = ("can_import_district_data", "is_limited")
    search_fields = ("name", "district__name")
    autocomplete_fields = ("district",)
    list_select_related = ("district",)


@admin.register(JobFunction)
class JobFunctionAdmin(DistrictAuditedAdmin, admin.ModelAdmin):
    list_display = ("name", "district")
    search_fields = ("name", "district__name")
    autocomplete_fields = ("district",)


@admin.register(Zone)
class ZoneAdmin(DistrictAuditedAdmin, admin.ModelAdmin):
    list_display = ("name", "district", "full_access")
    search_fields = ("name", "district__name")
    autocomplete_fields = ("district",)


@admin.register(TitleKeywordRule)
class TitleKeywordRuleAdmin(DistrictAuditedAdmin, admin.ModelAdmin):
    pass


@admin.register(StaffImportSettings)
class StaffImportSettingsAdmin(DistrictAuditedAdmin, admin.ModelAdmin):
    pass
