from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import JobFunction, Role, StaffImportSettings, TitleKeywordRule, User, Zone


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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
    raw_id_fields = ("role", "job_function", "zone")
    show_full_result_count = False
    fieldsets = BaseUserAdmin.fieldsets + (
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


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("name", "district", "can_import_district_data", "is_limited")
    list_filter = ("can_import_district_data", "is_limited")
    search_fields = ("name", "district__name")
    autocomplete_fields = ("district",)
    list_select_related = ("district",)


@admin.register(JobFunction)
class JobFunctionAdmin(admin.ModelAdmin):
    list_display = ("name", "district")
    search_fields = ("name", "district__name")
    autocomplete_fields = ("district",)


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    list_display = ("name", "district", "full_access")
    search_fields = ("name", "district__name")
    autocomplete_fields = ("district",)


admin.site.register(TitleKeywordRule)
admin.site.register(StaffImportSettings)
