"""Support staff: a district's Clever connection, with a token field only support ever sees.

District admins connect by typing their Clever district ID (the application fetches the token).
Support and self-hosters without application credentials can set a token by hand here; it goes
through :func:`integrations.config.connection.connection_connect` (checked against Clever, encrypted,
recorded in the audit log as ``clever.token.set_by_hand``). The token is never shown back.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from naviance_sync.admin import DistrictAdmin
from naviance_sync.audit import audit_changes

from .clever import CleverError
from .config.clever_reads import PORTAL
from .config.connection import connection_prepare, connection_save
from .config.rules import ConfigError
from .crypto import TokenDecryptError
from .models import CleverConnection, CleverSchool, SyncSettings
from .schools import schools_create_from_clever


class CleverConnectionForm(forms.ModelForm):
    api_url = forms.URLField(
        label="Clever API address",
        required=False,
        assume_scheme="https",
        help_text="Blank: Clever (CLEVER_API_URL). Also where the district's token is fetched.",
    )
    new_token = forms.CharField(
        label="Set the token by hand (support only)",
        required=False,
        strip=True,
        max_length=500,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text=(
            "Leave blank: the application fetches the district's token from Clever with its "
            "client credentials. A token typed here replaces that (self-hosting without "
            "application credentials); it is checked with Clever and recorded in the audit log."
        ),
    )

    class Meta:
        model = CleverConnection
        fields = ("district", "clever_district_id", "api_url", "new_token")

    def clean_new_token(self) -> str:
        token = self.cleaned_data.get("new_token") or ""
        if token and not all("!" <= ch <= "~" for ch in token):
            raise ValidationError("A Clever token has only letters, digits and punctuation.")
        return token

    def clean(self):
        """Everything that asks Clever happens here, so a problem is a form error."""
        data = super().clean()
        self.prepared = None
        district = data.get("district") or getattr(self.instance, "district", None)
        if district is None or self.errors:
            return data
        if not self.instance.pk and CleverConnection.objects.filter(district=district).exists():
            raise ValidationError("This district has a Clever connection already: edit that one.")
        try:
            self.prepared = connection_prepare(
                district=district,
                clever_district_id=data.get("clever_district_id") or "",
                token=data.get("new_token") or "",
                api_url=data.get("api_url") or "",
                by_support=True,
                deadline=PORTAL,
            )
        except ConfigError as exc:
            raise ValidationError(exc.message) from exc
        except (CleverError, TokenDecryptError) as exc:
            raise ValidationError(getattr(exc, "admin_message", str(exc))) from exc
        return data


@admin.register(CleverConnection)
class CleverConnectionAdmin(admin.ModelAdmin):
    form = CleverConnectionForm
    list_display = (
        "district",
        "clever_district_id",
        "status",
        "token_source",
        "token_refreshed_at",
        "last_checked_at",
    )
    list_filter = ("status", "token_source")
    search_fields = ("district__name", "clever_district_id")
    list_select_related = ("district",)
    autocomplete_fields = ("district",)
    readonly_fields = (
        "status",
        "token_source",
        "token_last4",
        "token_refreshed_at",
        "scopes",
        "last_checked_at",
        "last_error",
    )
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "district") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        """Through the connect service: encrypted and audited (never a raw save)."""
        saved = connection_save(
            district=form.cleaned_data.get("district") or obj.district,
            actor=request.user,
            prepared=form.prepared,
        )
        obj.pk = saved.pk
        obj.refresh_from_db()


# --- Onboarding: the district's schools from Clever ---------------------------------------------


@admin.action(description="Create schools from Clever (the Clever schools no school matches)")
def create_schools_from_clever(modeladmin, request, queryset):
    """A school for each Clever school the district's schools do not match, NCES id kept and
    matched to it (``schools.schools_create_from_clever``: audited in the district's log)."""
    for district in queryset:
        if not CleverSchool.objects.filter(district=district).exists():
            modeladmin.message_user(
                request,
                f"{district.name}: no Clever schools known yet. Connect the district to Clever "
                "first (Clever connections), then run this again.",
                messages.WARNING,
            )
            continue
        result = schools_create_from_clever(district=district, actor=request.user)
        names = ", ".join(s.name for s in result.created[:10])
        more = f" and {len(result.created) - 10} more" if len(result.created) > 10 else ""
        modeladmin.message_user(
            request,
            f"{district.name}: {len(result.created)} school(s) created from Clever and matched"
            + (f" ({names}{more})." if result.created else " (every Clever school is matched)."),
            messages.SUCCESS,
        )
        if result.look_like_existing:
            modeladmin.message_user(
                request,
                f"{district.name}: not created, because a school of the district looks like "
                f"them (same NCES id or name): {', '.join(result.look_like_existing)}. The "
                "district admin matches them on Set Up Clever.",
                messages.WARNING,
            )


# The district's page belongs to the tenant core, which knows nothing of Clever: the action that
# needs Clever's schools is added from here (the layer that knows both).
DistrictAdmin.actions = [*DistrictAdmin.actions, create_schools_from_clever]


@admin.register(SyncSettings)
class SyncSettingsAdmin(admin.ModelAdmin):
    """Support: the floors a district's limits cannot go below (issue 17.2). The district sets
    the limits themselves in Sync Settings, whose form refuses a value below a floor here."""

    list_display = (
        "district",
        "data_type",
        "inactivation_threshold_pct",
        "update_limit_pct",
        "create_limit_pct",
        "sensitive_change_limit",
        "source_drop_limit_pct",
    )
    list_filter = ("data_type",)
    search_fields = ("district__name",)
    list_select_related = ("district",)
    fields = (
        "district",
        "data_type",
        "inactivation_threshold_pct",
        "update_limit_pct",
        "create_limit_pct",
        "sensitive_change_limit",
        "source_drop_limit_pct",
        "inactivate_after_syncs",
        "inactivation_floor_pct",
        "update_floor_pct",
        "create_floor_pct",
        "sensitive_floor",
    )
    # The district's own settings are shown, not edited here (their page audits each change).
    readonly_fields = fields[:8]
    floor_fields = fields[8:]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        before = SyncSettings.objects.filter(pk=obj.pk).values(*self.floor_fields).first() or {}
        super().save_model(request, obj, form, change)
        audit_changes(
            district=obj.district,
            actor=request.user,
            action=f"clever.{obj.data_type}.limit_floors.saved",
            obj=obj,
            before=before,
            after={name: getattr(obj, name) for name in self.floor_fields},
        )


from . import admin_support  # noqa: E402,F401 - the support console (runs, district health, fleet)
