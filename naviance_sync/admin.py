"""Support staff: districts, schools, Clever enablement and launch dates."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.db import transaction

from . import services
from .admin_audit import DistrictAuditedAdmin
from .models import AuditEvent, District, LaunchDateChange, School

admin.site.site_header = "Naviance Sync support"
admin.site.site_title = "Naviance Sync support"
admin.site.index_title = "Districts, schools and Clever launch dates"
# The navigation sidebar takes 300 px of every page: at 1,366 px the district list lost its
# launch date column and the district page scrolled sideways. The index and breadcrumbs remain.
admin.site.enable_nav_sidebar = False


class FitsAdmin:
    """Support's pages fit a 1,366 px screen: compact inline inputs (static/css/admin.css)."""

    class Media:
        css = {"all": ("css/admin.css",)}


class SchoolInline(admin.TabularInline):
    model = School
    extra = 0
    fields = ("name", "nces_id", "state_id", "city", "state")
    show_change_link = True

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        sizes = {"name": 36, "nces_id": 13, "state_id": 14, "city": 16, "state": 3}
        if field is not None and db_field.name in sizes:
            field.widget.attrs.update(size=sizes[db_field.name], **{"class": "compact"})
        return field


class LaunchDateChangeInline(admin.TabularInline):
    model = LaunchDateChange
    extra = 0
    can_delete = False
    fields = ("changed_at", "kind", "integration", "old_date", "new_date", "changed_by", "note")
    readonly_fields = fields
    ordering = ("-changed_at", "-id")

    def has_add_permission(self, request, obj=None):
        return False


def _move_action(days: int, label: str):
    def action(modeladmin, request, queryset):
        moved = 0
        for district in queryset.only("pk", "name", "launch_date", "time_zone"):
            try:
                services.launch_date_move(district=district, days=days, actor=request.user)
                moved += 1
            except services.LaunchDateError as exc:
                modeladmin.message_user(request, str(exc), messages.WARNING)
        if moved:
            modeladmin.message_user(request, f"{label}: {moved} district(s).", messages.SUCCESS)

    action.__name__ = f"move_launch_{'plus' if days > 0 else 'minus'}_{abs(days)}"
    action.short_description = label
    return action


def _enable_action(integration: str, label: str):
    def action(modeladmin, request, queryset):
        for district in queryset:
            services.district_enable_clever(
                district=district, integration=integration, actor=request.user
            )
        modeladmin.message_user(
            request,
            f"{label} for {queryset.count()} district(s); launch dates set four weeks out "
            "where none was set.",
            messages.SUCCESS,
        )

    action.__name__ = f"enable_{integration}"
    action.short_description = label
    return action


@admin.register(District)
class DistrictAdmin(DistrictAuditedAdmin, FitsAdmin, admin.ModelAdmin):
    # Enablement, launch date and the confirmed Clever district id are audited by the services.
    audit_exclude = (
        *DistrictAuditedAdmin.audit_exclude,
        "clever_students_enabled",
        "clever_staff_enabled",
        "launch_date",
        "confirmed_clever_district_id",
    )
    list_display = ("name", "slug", "students_on", "staff_on", "launch_date", "time_zone")
    list_filter = ("clever_students_enabled", "clever_staff_enabled", "launch_date", "time_zone")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    date_hierarchy = "launch_date"
    list_per_page = 50
    show_full_result_count = False  # COUNT(*) over thousands of districts on every page is waste
    inlines = [SchoolInline, LaunchDateChangeInline]
    actions = [
        _enable_action("students", "Enable the Clever student integration"),
        _enable_action("staff", "Enable the Clever staff application"),
        _move_action(7, "Extend launch date by 1 week"),
        _move_action(28, "Extend launch date by 4 weeks"),
        _move_action(-7, "Bring launch date forward by 1 week"),
    ]

    @admin.display(boolean=True, description="Clever students", ordering="clever_students_enabled")
    def students_on(self, obj):
        return obj.clever_students_enabled

    @admin.display(boolean=True, description="Clever staff", ordering="clever_staff_enabled")
    def staff_on(self, obj):
        return obj.clever_staff_enabled

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        """Route enablement and launch-date edits through the services, so history is kept."""
        if not change:
            wanted = {k: form.cleaned_data.get(f) for k, f in services.INTEGRATIONS.items()}
            wanted_date = form.cleaned_data.get("launch_date")
            wanted_confirmed = obj.confirmed_clever_district_id
            obj.clever_students_enabled = obj.clever_staff_enabled = False
            obj.launch_date = None
            obj.confirmed_clever_district_id = ""
            super().save_model(request, obj, form, change)
            # The usual roles and functions (staff), and whatever else a district starts with.
            services.district_created_notify(district=obj, actor=request.user)
            if wanted_confirmed:
                obj = services.district_clever_id_confirm(
                    district=obj, clever_district_id=wanted_confirmed, actor=request.user
                )
            for integration, on in wanted.items():
                if on:
                    obj = services.district_enable_clever(
                        district=obj, integration=integration, actor=request.user
                    )
            if wanted_date and wanted_date != obj.launch_date:
                services.launch_date_set(district=obj, new_date=wanted_date, actor=request.user)
            return
        before = District.objects.get(pk=obj.pk)
        new_flags = {k: getattr(obj, f) for k, f in services.INTEGRATIONS.items()}
        new_date: dt.date | None = obj.launch_date
        new_confirmed = obj.confirmed_clever_district_id
        for f in services.INTEGRATIONS.values():
            setattr(obj, f, getattr(before, f))
        obj.launch_date = before.launch_date
        obj.confirmed_clever_district_id = before.confirmed_clever_district_id
        super().save_model(request, obj, form, change)
        services.district_clever_id_confirm(
            district=obj, clever_district_id=new_confirmed, actor=request.user
        )
        for integration, on in new_flags.items():
            if on:
                services.district_enable_clever(
                    district=obj, integration=integration, actor=request.user
                )
            else:
                services.district_disable_clever(
                    district=obj, integration=integration, actor=request.user
                )
        obj.refresh_from_db()
        if new_date != obj.launch_date and new_date is not None:
            services.launch_date_set(district=obj, new_date=new_date, actor=request.user)
        obj.refresh_from_db()


@admin.register(School)
class SchoolAdmin(DistrictAuditedAdmin, admin.ModelAdmin):
    list_display = ("name", "district", "nces_id", "state_id", "city", "state")
    list_filter = ("state",)
    search_fields = ("name", "nces_id", "state_id", "district__name")
    list_select_related = ("district",)
    autocomplete_fields = ("district",)
    show_full_result_count = False


@admin.register(LaunchDateChange)
class LaunchDateChangeAdmin(admin.ModelAdmin):
    list_display = (
        "changed_at",
        "district",
        "kind",
        "integration",
        "old_date",
        "new_date",
        "changed_by",
    )
    list_filter = ("kind", "integration", "changed_at")
    search_fields = ("district__name", "changed_by__username", "note")
    list_select_related = ("district", "changed_by")
    date_hierarchy = "changed_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = (
        "at",
        "district",
        "actor_label",
        "action",
        "object_repr",
        "field",
        "old_value",
        "new_value",
    )
    list_filter = ("action", "at")
    search_fields = ("district__name", "actor_label", "object_repr", "field")
    list_select_related = ("district",)
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
