"""Staff accounts (the custom user model), roles, job functions, zones and title-keyword rules."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac

from naviance_sync.models import DistrictOwned, School


class Role(DistrictOwned):
    """A user role within a district. Only roles that may import district data see integrations."""

    name = models.CharField(max_length=100)
    can_import_district_data = models.BooleanField(
        default=False, help_text="May configure and run the Clever integrations."
    )
    is_limited = models.BooleanField(
        default=False, help_text="Limited permissions (the defaults given to newly imported staff)."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="role_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class JobFunction(DistrictOwned):
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="jobfunction_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Zone(DistrictOwned):
    """Which schools a district account may see: full access, or a restricted set (maybe none)."""

    name = models.CharField(max_length=100)
    full_access = models.BooleanField(default=False)
    schools = models.ManyToManyField(School, blank=True, related_name="zones")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="zone_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """Anyone who signs in: support staff (no district) and district/school staff accounts."""

    class AccountType(models.TextChoices):
        SCHOOL = "school", "School staff"
        DISTRICT = "district", "District staff"

    class Source(models.TextChoices):
        KEYWORD = "keyword", "Title keyword rule"
        DEFAULT = "default", "Default for titles without a keyword"
        MANUAL = "manual", "Set by hand"
        NOT_IN_CLEVER = "not_in_clever", "Not in Clever"

    district = models.ForeignKey(
        "naviance_sync.District",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="users",
    )
    role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.SET_NULL, related_name="users"
    )
    account_type = models.CharField(
        max_length=10, choices=AccountType.choices, default=AccountType.SCHOOL
    )
    middle_name = models.CharField(max_length=150, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    employee_id = models.CharField(max_length=100, blank=True)
    clever_id = models.CharField(max_length=64, null=True, blank=True)
    job_function = models.ForeignKey(
        JobFunction, null=True, blank=True, on_delete=models.SET_NULL, related_name="users"
    )
    on_teacher_list = models.BooleanField(default=False)
    on_counselor_list = models.BooleanField(default=False)
    zone = models.ForeignKey(
        Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="users"
    )
    role_source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    # The role (and its source) the not-in-Clever rule replaced when an import found a hand-made
    # account not in Clever; an import gives it back when the person is in Clever again.
    replaced_role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replaced_role_source = models.CharField(max_length=20, choices=Source.choices, blank=True)
    function_source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    schools = models.ManyToManyField(
        School, through="StaffSchoolAccess", blank=True, related_name="staff"
    )
    inactive_since = models.DateTimeField(null=True, blank=True)
    # What the last import wrote to the fields a field rule may keep (naviance_sync.imported):
    # a field whose value differs from it was edited here since.
    imported_values = models.JSONField(default=dict, blank=True, editable=False)
    # "Sign out everywhere" bumps this; it is part of the session hash, so every session made
    # before the bump stops validating (integrations.sso.services.sign_out_everywhere).
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        constraints = [
            models.UniqueConstraint(
                fields=["district", "clever_id"],
                condition=Q(clever_id__isnull=False),
                name="user_unique_clever_id",
            )
        ]
        indexes = [
            models.Index(fields=["district", "last_name", "first_name"], name="user_district_name"),
            models.Index(fields=["district", "email"], name="user_district_email"),
            models.Index(fields=["district", "employee_id"], name="user_district_employee"),
            # Whether a username is taken in any case (``staff.services.usernames_taken``).
            models.Index(Lower("username"), name="user_username_lower"),
        ]

    def get_session_auth_hash(self) -> str:
        return self._session_hash(secret=None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)

    def _session_hash(self, *, secret: str | None) -> str:
        """Django's hash while the generation is 0 (existing sessions survive the deploy)."""
        if not self.session_generation:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "staff.models.User.get_session_auth_hash",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def can_import_district_data(self) -> bool:
        return bool(
            self.is_active
            and self.district_id
            and self.role is not None
            and self.role.can_import_district_data
        )


class StaffSchoolAccess(models.Model):
    """A staff account's access at one school, and why it has it."""

    class Source(models.TextChoices):
        CLEVER_SCHOOL = "clever_school", "Clever school"
        CLEVER_SECTION = "clever_section", "Clever section"
        MANUAL = "manual", "Added by hand"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="school_access")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="staff_access")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "school"], name="staff_access_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.school}"


class TitleKeywordRule(DistrictOwned):
    """Title keyword -> function, role and lists for newly imported staff.

    When several keywords match one title, the rule with the lowest ``position`` wins (the order
    the admin sees and can change); ties go to the longest keyword.
    """

    keyword = models.CharField(max_length=100)
    job_function = models.ForeignKey(JobFunction, null=True, blank=True, on_delete=models.SET_NULL)
    role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.SET_NULL)
    on_teacher_list = models.BooleanField(default=False)
    on_counselor_list = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["district", "keyword"], name="keyword_unique")
        ]

    def __str__(self) -> str:
        return self.keyword


class StaffImportSettings(DistrictOwned):
    """Defaults for staff whose titles match no keyword, and for staff not in Clever."""

    school_default_function = models.ForeignKey(
        JobFunction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    school_default_role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    school_default_teacher_list = models.BooleanField(default=False)
    school_default_counselor_list = models.BooleanField(default=False)
    district_default_function = models.ForeignKey(
        JobFunction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    district_default_role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    district_default_teacher_list = models.BooleanField(default=False)
    district_default_counselor_list = models.BooleanField(default=False)
    not_in_clever_role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_district_zone = models.ForeignKey(
        Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sso_enabled = models.BooleanField(
        default=False, help_text="Clever single sign-on: no welcome email to new staff."
    )

    class Meta:
        verbose_name = "staff import settings"
        verbose_name_plural = "staff import settings"
        constraints = [
            models.UniqueConstraint(fields=["district"], name="staff_settings_one_per_district")
        ]

    def __str__(self) -> str:
        return "Staff import settings"
