"""Support console in Django admin: import runs of every district, each district's sync health,
and the fleet health page (issue 19). Thin: the reads are ``integrations.fleet`` selectors and
``integrations.selectors``; the two actions are ``fleet.support_*`` services (audited).

Support staff (``is_staff``, no district) cannot open a district's portal pages: the portal's
views require a district member (``naviance_sync.scoping.district_member_required``) and answer
403 to support. So a run's admin page shows, read-only, what the district admin's run page shows:
status, counts, the reason of a failure or a review, and the first results.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Max, OuterRef, Subquery
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from naviance_sync.admin import DistrictAdmin
from naviance_sync.models import District

from . import fleet, selectors
from .models import DataType, ImportRun, RunResult, SyncSettings

RESULT_ROWS = 25
ACTION_PERMISSION = "integrations.change_syncsettings"


def _duration(run: ImportRun) -> str:
    if not run.started_at or not run.finished_at:
        return "-"
    seconds = int((run.finished_at - run.started_at).total_seconds())
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """Every district's runs, read-only."""

    list_display = (
        "id",
        "district",
        "data_type",
        "mode",
        "trigger",
        "status",
        "started_at",
        "duration",
        "records_seen",
        "created",
        "updated",
        "inactive",
        "errors",
    )
    list_filter = (
        "status",
        "data_type",
        "mode",
        "trigger",
        ("district", admin.RelatedOnlyFieldListFilter),
        "created_at",
    )
    search_fields = ("=id", "district__name", "district__slug", "error_message", "guard_detail")
    list_select_related = ("district",)
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "district",
                    ("data_type", "mode", "trigger"),
                    "status",
                    ("created_at", "started_at", "finished_at", "duration"),
                    ("started_by", "approved_by", "approves"),
                    ("attempt", "heartbeat_at"),
                    "error_message",
                    ("guard_tripped", "guard_detail"),
                )
            },
        ),
        (
            "What the district admin sees on the run's page",
            {"fields": ("portal_page", "counts_table", "results_summary")},
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return [f for fs in self.fieldsets for f in _flat(fs[1]["fields"])]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Duration")
    def duration(self, obj: ImportRun) -> str:
        return _duration(obj)

    @admin.display(description="The district's page")
    def portal_page(self, obj: ImportRun) -> str:
        """Where the district admin sees this run (support cannot open it: portal pages are for
        the district's own staff), to name it when talking to the district."""
        return render_to_string(
            "admin/integrations/run_portal_page.html",
            {"path": reverse("integrations:run_detail", kwargs={"run_id": obj.pk})},
        )

    @admin.display(description="Counts")
    def counts_table(self, obj: ImportRun) -> str:
        return render_to_string(
            "admin/integrations/run_counts.html",
            {"counts": [(k.replace("_", " ").capitalize(), v) for k, v in obj.counts().items()]},
        )

    @admin.display(description="Results")
    def results_summary(self, obj: ImportRun) -> str:
        counts = selectors.run_result_counts(run=obj) if not obj.is_active else {}
        labels = dict(RunResult.Action.choices)
        rows = list(obj.results.order_by("id")[:RESULT_ROWS])
        for row in rows:
            row.action_label = labels.get(row.action, row.action)  # type: ignore[attr-defined]
        return render_to_string(
            "admin/integrations/run_results.html",
            {
                "by_action": [(labels.get(a, a), n) for a, n in counts.items() if n],
                "rows": rows,
                "shown": RESULT_ROWS,
                "total": sum(counts.values()),
            },
        )

    # --- the fleet health page ---------------------------------------------------------------

    def get_urls(self):
        site = self.admin_site
        return [
            path("fleet/", site.admin_view(self.fleet_view), name="integrations_fleet"),
            path(
                "fleet/resume/",
                site.admin_view(require_POST(self.fleet_resume_view)),
                name="integrations_fleet_resume",
            ),
            path(
                "fleet/start/",
                site.admin_view(require_POST(self.fleet_start_view)),
                name="integrations_fleet_start",
            ),
            *super().get_urls(),
        ]

    def fleet_view(self, request: HttpRequest):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return TemplateResponse(
            request,
            "admin/integrations/fleet.html",
            {
                **self.admin_site.each_context(request),
                "title": "Fleet health",
                "sections": fleet.fleet_health(),
                "stale_factor": fleet.STALE_FACTOR,
                "can_act": request.user.has_perm(ACTION_PERMISSION),
                "now": timezone.now(),
            },
        )

    def _act(self, request: HttpRequest, act) -> HttpResponseRedirect:
        if not request.user.has_perm(ACTION_PERMISSION):
            raise PermissionDenied
        district_id = request.POST.get("district", "")
        if not district_id.isdigit():
            self.message_user(request, "Choose a district.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:integrations_fleet"))
        district = get_object_or_404(District, pk=int(district_id))
        try:
            message = act(district, request.POST.get("data_type", ""))
        except fleet.SupportActionRefused as refused:
            self.message_user(request, refused.message, messages.ERROR)
        else:
            self.message_user(request, message, messages.SUCCESS)
        back = request.POST.get("next", "")
        if not back.startswith("/admin/"):
            back = reverse("admin:integrations_fleet")
        return HttpResponseRedirect(back)

    def fleet_resume_view(self, request: HttpRequest):
        def act(district, data_type):
            fleet.support_schedule_resume(
                district=district, data_type=data_type, actor=request.user
            )
            return f"{district.name}: automatic {data_type} syncs resumed; the next one starts within a minute."

        return self._act(request, act)

    def fleet_start_view(self, request: HttpRequest):
        def act(district, data_type):
            run = fleet.support_run_start(
                district=district, data_type=data_type, actor=request.user
            )
            return f"{district.name}: import of {data_type} #{run.pk} queued."

        return self._act(request, act)


def _flat(fields) -> list[str]:
    out: list[str] = []
    for f in fields:
        out.extend(f if isinstance(f, tuple) else (f,))
    return out


# --- districts: their sync health ------------------------------------------------------------------


def _support_action(label: str, data_type: str, do):
    def action(modeladmin, request, queryset):
        if not request.user.has_perm(ACTION_PERMISSION):
            raise PermissionDenied
        done = 0
        for district in queryset:
            try:
                do(district=district, data_type=data_type, actor=request.user)
                done += 1
            except fleet.SupportActionRefused as refused:
                modeladmin.message_user(request, refused.message, messages.WARNING)
        if done:
            modeladmin.message_user(request, f"{label}: {done} district(s).", messages.SUCCESS)

    action.__name__ = f"{do.__name__}_{data_type}"
    action.short_description = label  # type: ignore[attr-defined]
    return action


admin.site.unregister(District)


@admin.register(District)
class DistrictSyncAdmin(DistrictAdmin):
    """The district admin page, with its sync health (read-only) and support's two actions."""

    list_display = (  # type: ignore[assignment]
        *DistrictAdmin.list_display,
        "last_import",
        "failures_in_a_row",
        "schedule_paused",
    )
    readonly_fields = (*DistrictAdmin.readonly_fields, "sync_health")
    actions = [
        *DistrictAdmin.actions,
        _support_action(
            "Resume the paused student schedule", DataType.STUDENTS, fleet.support_schedule_resume
        ),
        _support_action(
            "Resume the paused staff schedule", DataType.STAFF, fleet.support_schedule_resume
        ),
        _support_action("Start an import of students", DataType.STUDENTS, fleet.support_run_start),
        _support_action("Start an import of staff", DataType.STAFF, fleet.support_run_start),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        fields = [f for f in fieldsets[0][1]["fields"] if f != "sync_health"]
        return [(None, {"fields": fields}), ("Sync health", {"fields": ("sync_health",)})]

    def get_queryset(self, request):
        syncs = SyncSettings.objects.filter(district_id=OuterRef("pk"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                _last_import=Subquery(
                    ImportRun.objects.filter(
                        district_id=OuterRef("pk"),
                        mode=ImportRun.Mode.IMPORT,
                        status=ImportRun.Status.SUCCEEDED,
                    )
                    .order_by()
                    .values("district_id")
                    .annotate(m=Max("finished_at"))
                    .values("m")[:1]
                ),
                _failures=Subquery(
                    syncs.order_by()
                    .values("district_id")
                    .annotate(m=Max("consecutive_failures"))
                    .values("m")[:1]
                ),
                _paused=Exists(syncs.exclude(paused_reason="")),
            )
        )

    @admin.display(description="Last successful import", ordering="_last_import")
    def last_import(self, obj) -> str:
        value = getattr(obj, "_last_import", None)
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else "-"

    @admin.display(description="Failures in a row", ordering="_failures")
    def failures_in_a_row(self, obj) -> int:
        return getattr(obj, "_failures", None) or 0

    @admin.display(description="Paused", boolean=True, ordering="_paused")
    def schedule_paused(self, obj) -> bool:
        return bool(getattr(obj, "_paused", False))

    @admin.display(description="Sync health")
    def sync_health(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "-"
        return render_to_string(
            "admin/integrations/district_health.html",
            {
                "health": fleet.district_health(district=obj),
                "district": obj,
                "runs_url": reverse("admin:integrations_importrun_changelist")
                + f"?district__id__exact={obj.pk}",
            },
        )
