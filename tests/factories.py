"""factory-boy factories shared by every test package."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from integrations.crypto import encrypt_token
from integrations.models import (
    CleverConnection,
    CleverSchool,
    CodeDefinition,
    FieldMapping,
    NotificationRecipient,
    SchoolMatch,
    SyncSettings,
)
from naviance_sync.models import District, School
from staff.models import JobFunction, Role
from students.models import Student

PASSWORD = "correct-horse-battery-staple"  # noqa: S105 - test-only


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Test District {n}")
    slug = factory.Sequence(lambda n: f"district-{n}")
    time_zone = "America/Chicago"
    clever_students_enabled = True
    clever_staff_enabled = True


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    district = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"School {n} High")
    nces_id = factory.Sequence(lambda n: f"{170000000000 + n}")


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role
        django_get_or_create = ("district", "name")

    district = factory.SubFactory(DistrictFactory)
    name = "District Administrator"
    can_import_district_data = True


class JobFunctionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JobFunction
        django_get_or_create = ("district", "name")

    district = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"Function {n}")


class StaffAccountFactory(factory.django.DjangoModelFactory):
    """A staff account made by hand in the product (before Clever, or without it): no role and
    no password unless given, as an admin's own records of a district's staff have."""

    class Meta:
        model = get_user_model()

    district = factory.SubFactory(DistrictFactory)
    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Sam"
    last_name = factory.Sequence(lambda n: f"Staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Admin{n}")
    district = factory.SubFactory(DistrictFactory)
    role = factory.SubFactory(RoleFactory, district=factory.SelfAttribute("..district"))

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class DistrictAdminFactory(UserFactory):
    pass


# The authenticator-app key of every SupportStaffFactory account (tests compute codes from it).
SUPPORT_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105


def enroll_totp(user, secret: str = SUPPORT_TOTP_SECRET):
    """Give ``user`` an authenticator app, as the setup page does (allauth.mfa)."""
    from allauth.mfa.totp.internal.auth import TOTP

    return TOTP.activate(user, secret).instance


class SupportStaffFactory(UserFactory):
    """Support staff as production has them: Django admin access and an authenticator app
    (issue 20 item 8). ``SupportStaffFactory(totp=False)`` makes one that has not set it up."""

    district = None
    role = None
    is_staff = True
    is_superuser = True

    @factory.post_generation
    def totp(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            enroll_totp(obj)


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Student

    district = factory.SubFactory(DistrictFactory)
    school = factory.SubFactory(SchoolFactory, district=factory.SelfAttribute("..district"))
    student_id = factory.Sequence(lambda n: f"S{100000 + n}")
    first_name = "Alex"
    last_name = factory.Sequence(lambda n: f"Student{n}")
    grade = "9"


# --- the Clever configuration of a district (integrations) ----------------------------------


class CleverConnectionFactory(factory.django.DjangoModelFactory):
    """A district connected to Clever: pass ``token`` (plain text; stored encrypted, as the
    connect service stores it) and ``api_url`` (the simulator's address)."""

    class Meta:
        model = CleverConnection
        exclude = ("token",)

    district = factory.SubFactory(DistrictFactory)
    clever_district_id = factory.Sequence(lambda n: f"{n:024x}")
    token = factory.Sequence(lambda n: f"test-token-{n:08d}")
    token_encrypted = factory.LazyAttribute(lambda o: encrypt_token(o.token))
    token_last4 = factory.LazyAttribute(lambda o: o.token[-4:])
    api_url = ""
    status = CleverConnection.Status.CONNECTED


class CleverSchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CleverSchool

    district = factory.SubFactory(DistrictFactory)
    clever_id = factory.Sequence(lambda n: f"s{n:023x}")
    name = factory.Sequence(lambda n: f"Clever School {n}")
    nces_id = ""


class SchoolMatchFactory(factory.django.DjangoModelFactory):
    """A local school matched to a Clever school of the same district (the local school takes
    the Clever school's name unless given)."""

    class Meta:
        model = SchoolMatch

    district = factory.SubFactory(DistrictFactory)
    clever_school = factory.SubFactory(
        CleverSchoolFactory, district=factory.SelfAttribute("..district")
    )
    school = factory.SubFactory(
        SchoolFactory,
        district=factory.SelfAttribute("..district"),
        name=factory.SelfAttribute("..clever_school.name"),
        nces_id="",
    )


class FieldMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FieldMapping

    district = factory.SubFactory(DistrictFactory)
    data_type = "students"
    local_field = "student_id"
    clever_field = "roles.student.sis_id"


class CodeDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CodeDefinition

    district = factory.SubFactory(DistrictFactory)
    data_type = "students"
    local_field = "grade"
    clever_value = "9"
    local_code = "9"


class SyncSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncSettings
        django_get_or_create = ("district", "data_type")

    district = factory.SubFactory(DistrictFactory)
    data_type = "students"


class NotificationRecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationRecipient

    district = factory.SubFactory(DistrictFactory)
    data_type = "students"
    email = factory.Sequence(lambda n: f"registrar{n}@example.org")
