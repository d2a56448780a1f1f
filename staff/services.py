"""Writes for the staff integration: import settings, title keyword rules, zones, account changes.

Every change goes through a function here that also writes the audit trail; views only translate
forms into calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Case, Max, Value, When

from naviance_sync.audit import audit_changes, audit_record
from naviance_sync.models import District
from naviance_sync.scoping import for_district

from .models import (
    JobFunction,
    Role,
    StaffImportSettings,
    StaffSchoolAccess,
    TitleKeywordRule,
    User,
    Zone,
)

OTHER_SCHOOL_STAFF = "Other School Staff"
OTHER_DISTRICT_STAFF = "Other District Staff"
DISTRICT_SITE_MANAGER = "District Site Manager"
NO_SCHOOLS_ZONE = "No Schools Zone"
SETTINGS_SAVED_ACTION = "staff_settings.save"


class StaffSettingsError(ValueError):
    """A settings change the admin must correct; the message says how."""


def _limited_role(district: District, name: str) -> Role:
    role, _ = Role.objects.get_or_create(
        district=district,
        name=name,
        defaults={"is_limited": True, "can_import_district_data": False},
    )
    return role


@transaction.atomic
def staff_settings_ensure(*, district: District) -> StaffImportSettings:
    """The district's staff import settings, created on first use with the guide's defaults.

    New staff whose titles match no keyword get the two limited roles "Other School Staff" and
    "Other District Staff"; staff in the product but not in Clever get "District Site Manager".
    The roles are created only when the district has none of that name, so an admin's edits to
    their permissions are never undone.
    """
    existing = StaffImportSettings.objects.filter(district=district).first()
    if existing is not None:
        return existing
    school_role = _limited_role(district, OTHER_SCHOOL_STAFF)
    district_role = _limited_role(district, OTHER_DISTRICT_STAFF)
    site_manager, _ = Role.objects.get_or_create(
        district=district,
        name=DISTRICT_SITE_MANAGER,
        defaults={"is_limited": False, "can_import_district_data": True},
    )
    settings, _ = StaffImportSettings.objects.get_or_create(
        district=district,
        defaults={
            "school_default_role": school_role,
            "district_default_role": district_role,
            "not_in_clever_role": site_manager,
        },
    )
    return settings


SETTINGS_FIELDS = (
    "school_default_function",
    "school_default_role",
    "school_default_teacher_list",
    "school_default_counselor_list",
    "district_default_function",
    "district_default_role",
    "district_default_teacher_list",
    "district_default_counselor_list",
    "not_in_clever_role",
    "default_district_zone",
    "sso_enabled",
)


def _snapshot(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def _check_owned(district: District, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        owner = getattr(value, "district_id", None)
        if value is not None and owner is not None and owner != district.pk:
            raise StaffSettingsError(f"{name.replace('_', ' ')}: choose one of your district's.")


@transaction.atomic
def staff_settings_update(
    *, district: District, actor: User | None, values: Mapping[str, Any]
) -> StaffImportSettings:
    """Save the Staff Import Settings page; every changed setting is audited."""
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise StaffSettingsError(f"Unknown staff import settings: {', '.join(sorted(unknown))}.")
    _check_owned(district, values)
    settings = StaffImportSettings.objects.select_for_update().get(
        pk=staff_settings_ensure(district=district).pk
    )
    before = _snapshot(settings, values)
    for name, value in values.items():
        setattr(settings, name, value)
    settings.save()
    # "Settings saved" is a step of the launch checklist, even when nothing changed.
    audit_record(district=district, actor=actor, action=SETTINGS_SAVED_ACTION, obj=settings)
    audit_changes(
        district=district,
        actor=actor,
        action="staff_settings.update",
        obj=settings,
        before=before,
        after=_snapshot(settings, values),
    )
    return settings


# --- Title keyword rules ------------------------------------------------------------------------

RULE_FIELDS = ("keyword", "job_function", "role", "on_teacher_list", "on_counselor_list")


def _clean_keyword(keyword: str) -> str:
    cleaned = " ".join((keyword or "").split())
    if not cleaned:
        raise StaffSettingsError("Enter a keyword, for example Counselor.")
    if len(cleaned) > 100:
        raise StaffSettingsError("Keywords are at most 100 characters.")
    return cleaned


def _check_unique(district: District, keyword: str, *, exclude_id: int | None = None) -> None:
    clash = for_district(TitleKeywordRule, district).filter(keyword__iexact=keyword)
    if exclude_id is not None:
        clash = clash.exclude(pk=exclude_id)
    if clash.exists():
        raise StaffSettingsError(
            f"There is already a rule for \u201c{keyword}\u201d (keywords ignore capital letters)."
        )


@transaction.atomic
def keyword_rule_create(
    *,
    district: District,
    actor: User | None,
    keyword: str,
    job_function: JobFunction | None = None,
    role: Role | None = None,
    on_teacher_list: bool = False,
    on_counselor_list: bool = False,
) -> TitleKeywordRule:
    """Add a rule at the end of the list (the lowest priority): order is changed explicitly."""
    keyword = _clean_keyword(keyword)
    _check_owned(district, {"job_function": job_function, "role": role})
    _check_unique(district, keyword)
    last = for_district(TitleKeywordRule, district).aggregate(m=Max("position"))["m"]
    rule = TitleKeywordRule.objects.create(
        district=district,
        keyword=keyword,
        job_function=job_function,
        role=role,
        on_teacher_list=on_teacher_list,
        on_counselor_list=on_counselor_list,
        position=0 if last is None else last + 1,
    )
    audit_record(
        district=district, actor=actor, action="keyword_rule.create", obj=rule, new=keyword
    )
    return rule


@transaction.atomic
def keyword_rule_update(
    *, district: District, actor: User | None, rule: TitleKeywordRule, values: Mapping[str, Any]
) -> TitleKeywordRule:
    if rule.district_id != district.pk:
        raise StaffSettingsError("That rule is not one of your district's.")
    values = dict(values)
    if "keyword" in values:
        values["keyword"] = _clean_keyword(values["keyword"])
        _check_unique(district, values["keyword"], exclude_id=rule.pk)
    _check_owned(district, values)
    before = _snapshot(rule, values)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.save()
    audit_changes(
        district=district,
        actor=actor,
        action="keyword_rule.update",
        obj=rule,
        before=before,
        after=_snapshot(rule, values),
    )
    return rule


@transaction.atomic
def keyword_rule_delete(*, district: District, actor: User | None, rule: TitleKeywordRule) -> None:
    if rule.district_id != district.pk:
        raise StaffSettingsError("That rule is not one of your district's.")
    audit_record(
        district=district, actor=actor, action="keyword_rule.delete", obj=rule, old=rule.keyword
    )
    rule.delete()
    _renumber(district)


def _renumber(district: District) -> None:
    rules = list(for_district(TitleKeywordRule, district).order_by("position", "id"))
    for position, rule in enumerate(rules):
        if rule.position != position:
            rule.position = position
    TitleKeywordRule.objects.bulk_update(rules, ["position"])


@transaction.atomic
def keyword_rule_move(
    *, district: District, actor: User | None, rule: TitleKeywordRule, direction: str
) -> None:
    """Move a rule up (higher priority) or down the list; positions stay 0..n-1."""
    if direction not in ("up", "down"):
        raise StaffSettingsError("Move a rule up or down.")
    rules = list(
        for_district(TitleKeywordRule, district).select_for_update().order_by("position", "id")
    )
    ids = [r.pk for r in rules]
    if rule.pk not in ids:
        raise StaffSettingsError("That rule is not one of your district's.")
    i = ids.index(rule.pk)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(rules):
        return
    rules[i], rules[j] = rules[j], rules[i]
    for position, r in enumerate(rules):
        r.position = position
    TitleKeywordRule.objects.bulk_update(rules, ["position"])
    audit_record(
        district=district,
        actor=actor,
        action="keyword_rule.move",
        obj=rule,
        field="position",
        old=i + 1,
        new=j + 1,
    )


# --- Zones --------------------------------------------------------------------------------------


@transaction.atomic
def no_schools_zone_create(*, district: District, actor: User | None) -> Zone:
    """The guide's recommended default zone: district staff added by Clever see no school.

    Made the default zone for new district staff. If a zone of that name exists it must really
    restrict access, or the admin is told rather than silently given an open zone.
    """
    zone, created = Zone.objects.get_or_create(
        district=district, name=NO_SCHOOLS_ZONE, defaults={"full_access": False}
    )
    if not created and (zone.full_access or zone.schools.exists()):
        raise StaffSettingsError(
            f"Your district already has a zone called \u201c{NO_SCHOOLS_ZONE}\u201d, but it gives "
            "access to schools. Rename it or remove its schools first."
        )
    if created:
        audit_record(district=district, actor=actor, action="zone.create", obj=zone, new=zone.name)
    staff_settings_update(district=district, actor=actor, values={"default_district_zone": zone})
    return zone


# --- Accounts -----------------------------------------------------------------------------------

ACCOUNT_FIELDS = ("role", "job_function", "on_teacher_list", "on_counselor_list")


@transaction.atomic
def staff_account_update(
    *, district: District, actor: User | None, account: User, values: Mapping[str, Any]
) -> User:
    """An admin sets a staff member's role, function or lists by hand.

    The sources become "set by hand", so later imports (which only ever assign these to new
    accounts) and the staff page show that a person decided.
    """
    if account.district_id != district.pk:
        raise StaffSettingsError("That account is not one of your district's.")
    unknown = set(values) - set(ACCOUNT_FIELDS)
    if unknown:
        raise StaffSettingsError(f"Cannot change {', '.join(sorted(unknown))} here.")
    _check_owned(district, values)
    before = _snapshot(account, values)
    for name, value in values.items():
        setattr(account, name, value)
    if "role" in values and before["role"] != values["role"]:
        account.role_source = User.Source.MANUAL
    if "job_function" in values and before["job_function"] != values["job_function"]:
        account.function_source = User.Source.MANUAL
    account.save()
    audit_changes(
        district=district,
        actor=actor,
        action="staff.update",
        obj=account,
        before=before,
        after=_snapshot(account, values),
    )
    return account


# --- The sync's configuration and what follows a real import ------------------------------------


def staff_sync_config(*, district: District):
    """The staff part of a run's configuration: keyword rules, defaults, zone, school names.

    Read once per run (three small queries); the sync spec only reads the snapshot.
    """
    from naviance_sync.models import School

    from .sync_roles import Defaults, KeywordRule, StaffConfig

    settings = staff_settings_ensure(district=district)
    rules = tuple(
        KeywordRule(
            keyword=r.keyword,
            position=r.position,
            role_id=r.role_id,
            function_id=r.job_function_id,
            on_teacher_list=r.on_teacher_list,
            on_counselor_list=r.on_counselor_list,
            id=r.pk,
        )
        for r in for_district(TitleKeywordRule, district).order_by("position", "id")
    )
    return StaffConfig(
        rules=rules,
        school_defaults=Defaults(
            role_id=settings.school_default_role_id,
            function_id=settings.school_default_function_id,
            on_teacher_list=settings.school_default_teacher_list,
            on_counselor_list=settings.school_default_counselor_list,
        ),
        district_defaults=Defaults(
            role_id=settings.district_default_role_id,
            function_id=settings.district_default_function_id,
            on_teacher_list=settings.district_default_teacher_list,
            on_counselor_list=settings.district_default_counselor_list,
        ),
        default_district_zone_id=settings.default_district_zone_id,
        not_in_clever_role_id=settings.not_in_clever_role_id,
        sso_enabled=settings.sso_enabled,
        school_names=dict(for_district(School, district).values_list("id", "name")),
        import_role_ids=frozenset(
            for_district(Role, district)
            .filter(can_import_district_data=True)
            .values_list("pk", flat=True)
        ),
        importer_ids=frozenset(
            for_district(User, district)
            .filter(is_active=True, role__can_import_district_data=True)
            .values_list("pk", flat=True)
        ),
    )


def staff_read_access(*, district_id: int) -> dict[int, tuple]:
    """Each account's Clever-given school access, as the spec's ``school_access`` value.

    Access added by hand is not part of it: Clever never takes it away.
    """
    out: dict[int, set] = {}
    rows = (
        StaffSchoolAccess.objects.filter(user__district_id=district_id)
        .exclude(source=StaffSchoolAccess.Source.MANUAL)
        .values_list("user_id", "school_id", "school__name", "source")
    )
    for user_id, school_id, name, source in rows:
        out.setdefault(user_id, set()).add((school_id, name, source))
    return {pk: (frozenset(access),) for pk, access in out.items()}


def staff_write_access(*, district_id: int, changes: Iterable[tuple[int, str, Any]]) -> None:
    """Make each account's Clever-given access what Clever says, in bulk.

    Clever-given access Clever no longer gives is removed; access added by hand stays, and a school
    Clever now also gives turns into Clever-given access (Clever explains it from now on).
    """
    wanted: dict[int, dict[int, str]] = {}
    for pk, field_name, value in changes:
        if field_name != "school_access" or not isinstance(value, frozenset | set):
            continue
        wanted[pk] = {school: source for school, _name, source in value}
    if not wanted:
        return
    pks = list(wanted)
    valid = set(
        User.objects.filter(pk__in=pks, district_id=district_id).values_list("pk", flat=True)
    )
    existing: dict[tuple[int, int], StaffSchoolAccess] = {
        (a.user_id, a.school_id): a for a in StaffSchoolAccess.objects.filter(user_id__in=valid)
    }
    remove: list[int] = []
    update: list[StaffSchoolAccess] = []
    create: list[StaffSchoolAccess] = []
    for (user_id, school_id), access in existing.items():
        want = wanted[user_id].get(school_id)
        if want is None:
            if access.source != StaffSchoolAccess.Source.MANUAL:
                remove.append(access.pk)
        elif access.source != want:
            access.source = want
            update.append(access)
    for user_id in valid:
        for school_id, source in wanted[user_id].items():
            if (user_id, school_id) not in existing:
                create.append(
                    StaffSchoolAccess(user_id=user_id, school_id=school_id, source=source)
                )
    if remove:
        StaffSchoolAccess.objects.filter(pk__in=remove).delete()
    if update:
        StaffSchoolAccess.objects.bulk_update(update, ["source"], batch_size=1000)
    if create:
        StaffSchoolAccess.objects.bulk_create(create, batch_size=1000, ignore_conflicts=True)


WELCOME_BATCH = 500  # accounts per welcome-email task: small messages, bounded retries


def staff_after_import(*, district_id: int, run_id: int, created_ids: Iterable[int]) -> int:
    """After a real import commits: friendly usernames, then queue the welcome emails.

    New accounts were created with a placeholder username unique by construction; here each gets
    its email address as username when no other account uses it (one query to find the taken
    ones, one UPDATE per 1,000 renames). The welcome emails go to the "mail" queue in batches
    (``staff.tasks.send_staff_welcome``), like the run summary: rendering and sending 10,000 of
    them inline took 3.8 s of a 7.7 s import. None when the district uses Clever single sign-on.
    Returns the number of accounts whose welcome email was queued.
    """
    ids = list(created_ids)
    if not ids:
        return 0
    rows = list(
        User.objects.filter(pk__in=ids, district_id=district_id)
        .order_by("pk")
        .values_list("pk", "email", "username")
    )
    wanted: dict[str, list[int]] = {}
    for pk, email, username in rows:
        email = (email or "").strip().lower()
        if email and len(email) <= 150 and username.startswith("clever-"):
            wanted.setdefault(email, []).append(pk)
    taken = {
        u.lower()
        for u in User.objects.filter(username__in=list(wanted)).values_list("username", flat=True)
    }
    renames = [
        (owners[0], email)
        for email, owners in wanted.items()
        if email not in taken and len(owners) == 1
    ]
    for start in range(0, len(renames), 1000):
        chunk = renames[start : start + 1000]
        User.objects.filter(pk__in=[pk for pk, _ in chunk]).update(
            username=Case(*(When(pk=pk, then=Value(email)) for pk, email in chunk))
        )
    settings = StaffImportSettings.objects.filter(district_id=district_id).first()
    if settings is not None and settings.sso_enabled:
        return 0
    with_email = [pk for pk, email, _ in rows if email]
    from .tasks import send_staff_welcome

    for start in range(0, len(with_email), WELCOME_BATCH):  # the import has committed
        send_staff_welcome.delay(district_id, with_email[start : start + WELCOME_BATCH])
    return len(with_email)


def staff_welcome_send(*, district_id: int, user_ids: Iterable[int]) -> int:
    """Send the welcome email to these new accounts (the mail worker's half of the above).

    Skips accounts that already chose a password (a retried task never re-invites them) and
    sends nothing once the district switched to Clever single sign-on. Returns how many went.
    """
    from .emails import send_welcome_emails

    settings = StaffImportSettings.objects.filter(district_id=district_id).first()
    if settings is not None and settings.sso_enabled:
        return 0
    accounts = [
        u
        for u in User.objects.filter(
            pk__in=list(user_ids), district_id=district_id, is_active=True
        ).select_related("district")
        if not u.has_usable_password()
    ]
    return send_welcome_emails(accounts)


# --- Roles and functions: what a new district starts with, and the admin's own ------------------

# (name, can import district data, limited): the roles the staff guide assumes exist.
DEFAULT_ROLES: tuple[tuple[str, bool, bool], ...] = (
    (DISTRICT_SITE_MANAGER, True, False),
    ("School Site Manager", False, False),
    ("School Administrator", False, False),
    ("Counselor", False, False),
    ("Teacher", False, False),
    (OTHER_SCHOOL_STAFF, False, True),
    (OTHER_DISTRICT_STAFF, False, True),
)
DEFAULT_FUNCTIONS: tuple[str, ...] = (
    "Administrator",
    "Counselor",
    "Teacher",
    "Support Staff",
    "Other",
)


@transaction.atomic
def district_staff_defaults_create(*, district: District, actor: User | None = None) -> None:
    """The usual roles and functions, and the staff import settings, for a new district.

    Called when a district is created (``naviance_sync.services.district_created``); the data
    migration ``staff/0004`` gave them to the districts that had none. Only names the district
    does not have yet are added, so an admin's own roles and edits are never touched.
    """
    have_roles = set(for_district(Role, district).values_list("name", flat=True))
    for name, can_import, limited in DEFAULT_ROLES:
        if name not in have_roles:
            role = Role.objects.create(
                district=district,
                name=name,
                can_import_district_data=can_import,
                is_limited=limited,
            )
            audit_record(district=district, actor=actor, action="role.create", obj=role, new=name)
    have_functions = set(for_district(JobFunction, district).values_list("name", flat=True))
    for name in DEFAULT_FUNCTIONS:
        if name not in have_functions:
            function = JobFunction.objects.create(district=district, name=name)
            audit_record(
                district=district, actor=actor, action="function.create", obj=function, new=name
            )
    staff_settings_ensure(district=district)


def _clean_name(name: str, *, what: str) -> str:
    cleaned = " ".join((name or "").replace("\x00", "").split())
    if not cleaned:
        raise StaffSettingsError(f"Enter a name for the {what}.")
    if len(cleaned) > 100:
        raise StaffSettingsError(f"A {what} name is at most 100 characters ({len(cleaned)} now).")
    return cleaned


def _check_name_free(model: type, district: District, name: str, *, what: str, pk=None) -> None:
    clash: Any = for_district(model, district).filter(name__iexact=name)
    if pk is not None:
        clash = clash.exclude(pk=pk)
    if clash.exists():
        raise StaffSettingsError(
            f"Your district already has a {what} called \u201c{name}\u201d (names ignore "
            "capital letters)."
        )


def _names(accounts: Iterable[User], total: int) -> str:
    names = [a.get_full_name().strip() or a.username for a in accounts]
    more = total - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


SHOWN_HOLDERS = 10


def _import_would_end(district: District, role: Role) -> bool:
    """Whether no account could import district data once ``role`` cannot: no other role has
    the permission, or none that an active account holds."""
    if not role.can_import_district_data:
        return False
    return not (
        for_district(User, district)
        .filter(is_active=True, role__can_import_district_data=True)
        .exclude(role=role)
        .exists()
    )


LAST_IMPORT_ROLE = (
    "\u201c{name}\u201d keeps the permission to import district data: no other active account "
    "has a role with it, so nobody (you included) could run the Clever integrations. Give the "
    "permission to another role held by an active account first."
)


@transaction.atomic
def role_create(
    *,
    district: District,
    actor: User | None,
    name: str,
    can_import_district_data: bool = False,
    is_limited: bool = False,
) -> Role:
    name = _clean_name(name, what="role")
    _check_name_free(Role, district, name, what="role")
    role = Role.objects.create(
        district=district,
        name=name,
        can_import_district_data=can_import_district_data,
        is_limited=is_limited,
    )
    audit_record(district=district, actor=actor, action="role.create", obj=role, new=name)
    audit_changes(
        district=district,
        actor=actor,
        action="role.create",
        obj=role,
        before={"can_import_district_data": False, "is_limited": False},
        after={"can_import_district_data": can_import_district_data, "is_limited": is_limited},
    )
    return role


ROLE_FIELDS = ("name", "can_import_district_data", "is_limited")


@transaction.atomic
def role_update(
    *, district: District, actor: User | None, role: Role, values: Mapping[str, Any]
) -> Role:
    """Rename a role or change its permissions (audited).

    The permission to import district data is never taken from the district's last role that
    has it (its admins would lock themselves out).
    """
    if role.district_id != district.pk:
        raise StaffSettingsError("That role is not one of your district's.")
    unknown = set(values) - set(ROLE_FIELDS)
    if unknown:
        raise StaffSettingsError(f"Cannot change {', '.join(sorted(unknown))} here.")
    role = Role.objects.select_for_update().get(pk=role.pk)
    values = dict(values)
    if "name" in values:
        values["name"] = _clean_name(values["name"], what="role")
        _check_name_free(Role, district, values["name"], what="role", pk=role.pk)
    if (
        "can_import_district_data" in values
        and not values["can_import_district_data"]
        and _import_would_end(district, role)
    ):
        raise StaffSettingsError(LAST_IMPORT_ROLE.format(name=role.name))
    before = _snapshot(role, values)
    for name, value in values.items():
        setattr(role, name, value)
    role.save()
    audit_changes(
        district=district,
        actor=actor,
        action="role.update",
        obj=role,
        before=before,
        after=_snapshot(role, values),
    )
    return role


def role_uses(*, district: District, role: Role) -> list[str]:
    """Why a role cannot be deleted: who holds it and which settings or keywords name it."""
    reasons = []
    holders = for_district(User, district).filter(role=role).order_by("last_name", "first_name")
    total = holders.count()
    if total:
        reasons.append(
            f"{total} account{'s' if total != 1 else ''} "
            f"{'have' if total != 1 else 'has'} this role: "
            f"{_names(holders[:SHOWN_HOLDERS], total)}. Give them another role on the Staff "
            "page first."
        )
    settings = StaffImportSettings.objects.filter(district=district).first()
    if settings is not None:
        uses = [
            label
            for field, label in (
                ("school_default_role", "the default role for school staff"),
                ("district_default_role", "the default role for district staff"),
                ("not_in_clever_role", "the role for staff not in Clever"),
            )
            if getattr(settings, f"{field}_id") == role.pk
        ]
        if uses:
            reasons.append(f"It is {' and '.join(uses)} on Staff Import Settings.")
    keywords = list(
        for_district(TitleKeywordRule, district).filter(role=role).values_list("keyword", flat=True)
    )
    if keywords:
        quoted = ", ".join(f"\u201c{k}\u201d" for k in keywords)
        reasons.append(f"The title keyword{'s' if len(keywords) != 1 else ''} {quoted} use it.")
    return reasons


@transaction.atomic
def role_delete(*, district: District, actor: User | None, role: Role) -> None:
    """Delete a role nobody holds and no setting or keyword uses (else say who and what)."""
    if role.district_id != district.pk:
        raise StaffSettingsError("That role is not one of your district's.")
    role = Role.objects.select_for_update().get(pk=role.pk)
    uses = role_uses(district=district, role=role)
    if uses:
        raise StaffSettingsError(
            f"\u201c{role.name}\u201d cannot be deleted while it is in use. " + " ".join(uses)
        )
    if _import_would_end(district, role):
        raise StaffSettingsError(LAST_IMPORT_ROLE.format(name=role.name))
    audit_record(district=district, actor=actor, action="role.delete", obj=role, old=role.name)
    role.delete()


@transaction.atomic
def function_create(*, district: District, actor: User | None, name: str) -> JobFunction:
    name = _clean_name(name, what="function")
    _check_name_free(JobFunction, district, name, what="function")
    function = JobFunction.objects.create(district=district, name=name)
    audit_record(district=district, actor=actor, action="function.create", obj=function, new=name)
    return function


@transaction.atomic
def function_update(
    *, district: District, actor: User | None, function: JobFunction, name: str
) -> JobFunction:
    if function.district_id != district.pk:
        raise StaffSettingsError("That function is not one of your district's.")
    name = _clean_name(name, what="function")
    _check_name_free(JobFunction, district, name, what="function", pk=function.pk)
    old = function.name
    function.name = name
    function.save(update_fields=["name"])
    audit_changes(
        district=district,
        actor=actor,
        action="function.update",
        obj=function,
        before={"name": old},
        after={"name": name},
    )
    return function


def function_uses(*, district: District, function: JobFunction) -> list[str]:
    reasons = []
    holders = (
        for_district(User, district)
        .filter(job_function=function)
        .order_by("last_name", "first_name")
    )
    total = holders.count()
    if total:
        reasons.append(
            f"{total} account{'s' if total != 1 else ''} "
            f"{'have' if total != 1 else 'has'} this function: "
            f"{_names(holders[:SHOWN_HOLDERS], total)}. Give them another function on the "
            "Staff page first."
        )
    settings = StaffImportSettings.objects.filter(district=district).first()
    if settings is not None and function.pk in (
        settings.school_default_function_id,
        settings.district_default_function_id,
    ):
        reasons.append("It is a default function on Staff Import Settings.")
    keywords = list(
        for_district(TitleKeywordRule, district)
        .filter(job_function=function)
        .values_list("keyword", flat=True)
    )
    if keywords:
        quoted = ", ".join(f"\u201c{k}\u201d" for k in keywords)
        reasons.append(f"The title keyword{'s' if len(keywords) != 1 else ''} {quoted} use it.")
    return reasons


@transaction.atomic
def function_delete(*, district: District, actor: User | None, function: JobFunction) -> None:
    if function.district_id != district.pk:
        raise StaffSettingsError("That function is not one of your district's.")
    uses = function_uses(district=district, function=function)
    if uses:
        raise StaffSettingsError(
            f"\u201c{function.name}\u201d cannot be deleted while it is in use. " + " ".join(uses)
        )
    audit_record(
        district=district, actor=actor, action="function.delete", obj=function, old=function.name
    )
    function.delete()
