"""What the staff sync spec calls around the engine: the run's configuration snapshot, the
Clever-given school access (read and written in bulk), and what follows a real import (usernames
from emails, welcome emails on the mail queue).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

from naviance_sync.models import District, School
from naviance_sync.scoping import for_district

from ..models import Role, StaffImportSettings, StaffSchoolAccess, TitleKeywordRule, User
from ..sync_mapping import email_username
from ..sync_roles import Defaults, KeywordRule, StaffConfig
from .import_settings import staff_settings_ensure

logger = logging.getLogger(__name__)


def staff_sync_config(*, district: District) -> StaffConfig:
    """The staff part of a run's configuration: keyword rules, defaults, zone, school names.

    Read once per run (three small queries); the sync spec only reads the snapshot.
    """
    settings = staff_settings_ensure(district=district)
    rules = tuple(
        KeywordRule.of(r)
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
    valid, existing = _accounts_and_access(district_id=district_id, pks=list(wanted))
    remove: list[int] = []
    update: list[StaffSchoolAccess] = []
    create: list[tuple[int, int, str]] = []
    for (user_id, school_id), (access_pk, source) in existing.items():
        want = wanted[user_id].get(school_id)
        if want is None:
            if source != StaffSchoolAccess.Source.MANUAL:
                remove.append(access_pk)
        elif source != want:
            update.append(StaffSchoolAccess(pk=access_pk, source=want))
    for user_id in valid:
        for school_id, source in wanted[user_id].items():
            if (user_id, school_id) not in existing:
                create.append((user_id, school_id, source))
    if remove:
        StaffSchoolAccess.objects.filter(pk__in=remove).delete()
    if update:
        StaffSchoolAccess.objects.bulk_update(update, ["source"], batch_size=1000)
    if create:
        _access_create(create)


# Above this many accounts, read the district's accounts and access whole (two plain queries)
# rather than by lists of ids (a first import's 10,000 ids as parameters, twice).
WHOLE_DISTRICT_READ = 1000


def _accounts_and_access(
    *, district_id: int, pks: list[int]
) -> tuple[set[int], dict[tuple[int, int], tuple[int, str]]]:
    """Which of ``pks`` are this district's accounts, and their access rows: (user, school) ->
    (access id, source)."""
    users = User.objects.filter(district_id=district_id)
    access = StaffSchoolAccess.objects.filter(user__district_id=district_id)
    if len(pks) <= WHOLE_DISTRICT_READ:
        users = users.filter(pk__in=pks)
        access = access.filter(user_id__in=pks)
    valid = set(users.values_list("pk", flat=True)) & set(pks)
    existing = {
        (user_id, school_id): (pk, source)
        for pk, user_id, school_id, source in access.values_list(
            "pk", "user_id", "school_id", "source"
        )
        if user_id in valid
    }
    return valid, existing


def pg_array(values: Iterable[int | str]) -> str:
    """A PostgreSQL array literal (``{1,2}``, ``{"a","b \\"c\\""}``) for one ``%s::type[]``
    parameter: the server reads one value. A Python list goes as ``ARRAY[...]`` with one literal
    per element, which PostgreSQL parses one by one (10,000 of them per column in a first
    import). Texts are quoted with ``"`` and ``\\`` escaped, so any text (commas, braces, quotes,
    "NULL") comes back as itself; ints are written as ints."""
    out = []
    for value in values:
        if isinstance(value, int):
            out.append(str(int(value)))
        else:
            out.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(out) + "}"


def _among(field_name: str, values: list[Any], sql_type: str) -> Q:
    """``<field> IN values`` for a list of thousands: on PostgreSQL the list is one array
    parameter (``IN (SELECT unnest(%s::type[]))``); the ORM's ``__in`` compiles and sends one
    placeholder per value (0.08 s for a first import's 10,000 ids). Elsewhere ``__in``."""
    if connection.vendor != "postgresql":
        return Q(**{f"{field_name}__in": values})
    assert sql_type in ("bigint", "varchar"), sql_type
    unnest = f"SELECT unnest(%s::{sql_type}[])"
    subquery = RawSQL(unnest, (pg_array(values),))  # noqa: S611  # nosec B611 - type name only
    return Q(**{f"{field_name}__in": subquery})


def _access_create(rows: list[tuple[int, int, str]]) -> None:
    """Insert (user, school, source) access rows; one already there (a concurrent edit) stays.

    PostgreSQL: one ``INSERT ... SELECT FROM unnest(...)`` of three arrays (``bulk_create``
    spent 0.4 s of a 10,000-staff first import building 11,000 model instances and ten
    statements). Elsewhere ``bulk_create``.
    """
    if connection.vendor != "postgresql":
        StaffSchoolAccess.objects.bulk_create(
            [StaffSchoolAccess(user_id=u, school_id=s, source=src) for u, s, src in rows],
            batch_size=1000,
            ignore_conflicts=True,
        )
        return
    table = connection.ops.quote_name(StaffSchoolAccess._meta.db_table)
    users, schools, sources = (list(column) for column in zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, school_id, source) "  # noqa: S608  # nosec B608 - table name only
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[]) "
            "ON CONFLICT DO NOTHING",
            [pg_array(users), pg_array(schools), pg_array(sources)],
        )


def _rename(renames: list[tuple[int, str]]) -> None:
    """Give each account (pk) its new username, in bulk.

    PostgreSQL: one ``UPDATE ... FROM unnest(ids, names)``, two array parameters. The ORM's
    ``update(username=Case(When(pk=..., then=...), ...))`` did the same in SQL but spent 3.4 s
    of a 10,000-staff import building and compiling the 10,000 ``When`` expressions. Elsewhere
    (SQLite, in process) one prepared ``UPDATE`` run for each pair.
    """
    if not renames:
        return
    table = connection.ops.quote_name(User._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(
                f"UPDATE {table} SET username = %s WHERE id = %s",  # noqa: S608  # nosec B608 - table name only
                [(name, pk) for pk, name in renames],
            )
            return
        cursor.execute(
            f"UPDATE {table} AS u SET username = v.name "  # noqa: S608  # nosec B608 - table name only
            "FROM unnest(%s::bigint[], %s::varchar[]) AS v(id, name) WHERE u.id = v.id",
            [pg_array(pk for pk, _ in renames), pg_array(name for _, name in renames)],
        )


def usernames_taken(names: list[str], *, exclude_pk: int | None = None) -> set[str]:
    """Which of these (lower-case) usernames an account already has, whatever its case.

    Usernames are unique as typed, so "Ana@X.org" (made by hand, or in another district) does not
    stop a new "ana@x.org"; but the two would be one person's address, signing in to two
    accounts. Compared in lower case: on PostgreSQL its ``lower()``, served by the index
    ``user_username_lower``, which folds what the database's collation folds (all of Unicode in
    the UTF-8 locales, C.UTF-8 and en_US.UTF-8 among them; ASCII only under "C"); on SQLite,
    whose ``lower()`` folds ASCII only ("Émile" stays), Python folds every username (SQLite
    serves one small install). Neither folds compatibility forms in existing usernames (a
    full-width "ａｎａ@..." from before usernames were checked does not stop "ana@...").
    ``exclude_pk``: an account whose own username does not count (one support is renaming).
    """
    if not names:
        return set()
    accounts = User.objects.exclude(pk=exclude_pk) if exclude_pk else User.objects.all()
    if connection.vendor != "postgresql":
        found = accounts.order_by().values_list("username", flat=True).iterator()
        return {name.lower() for name in found} & set(names)
    return set(
        accounts.annotate(lowered=Lower("username"))
        .filter(_among("lowered", names, "varchar"))
        .order_by()
        .values_list("lowered", flat=True)
    )


WELCOME_BATCH = 500  # accounts per welcome-email task: small messages, bounded retries


def staff_after_import(*, district_id: int, run_id: int, created_ids: Iterable[int]) -> int:
    """After a real import commits: friendly usernames, then queue the welcome emails.

    New accounts were created with a placeholder username unique by construction; here each gets
    its email address as username when no other account uses it (one query to find the taken
    ones, one UPDATE for all the renames). The welcome emails go to the "mail" queue in batches
    (``staff.tasks.send_staff_welcome``), like the run summary: rendering and sending 10,000 of
    them inline took 3.8 s of a 7.7 s import. None when the district uses Clever single sign-on.
    Returns the number of accounts whose welcome email was queued.
    """
    ids = list(created_ids)
    if not ids:
        return 0
    rows = list(
        User.objects.filter(_among("pk", ids, "bigint"), district_id=district_id)
        .order_by("pk")
        .values_list("pk", "email", "username")
    )
    wanted: dict[str, list[int]] = {}
    for pk, email, username in rows:
        name = email_username(email)
        if name and username.startswith("clever-"):
            wanted.setdefault(name, []).append(pk)
    taken = usernames_taken(list(wanted))
    renames = [
        (owners[0], name)
        for name, owners in wanted.items()
        if name not in taken and len(owners) == 1
    ]
    try:
        with transaction.atomic():
            _rename(renames)
    except IntegrityError:
        # An account took one of the names, in the same case, between the check and the UPDATE
        # (another district's import, support in Django admin). The renames roll back together:
        # every new account keeps its clever-... username, which its welcome email gives, and the
        # emails still go. A name taken in another case in that window is not caught (usernames
        # are unique as typed; the lower-case index is not a constraint).
        logger.warning(
            "run %s: a username was taken during the rename; %s new accounts keep their "
            "clever-... usernames",
            run_id,
            len(renames),
        )
    settings = StaffImportSettings.objects.filter(district_id=district_id).first()
    if settings is not None and settings.sso_enabled:
        return 0
    with_email = [pk for pk, email, _ in rows if email]
    from ..tasks import send_staff_welcome

    for start in range(0, len(with_email), WELCOME_BATCH):  # the import has committed
        send_staff_welcome.delay(district_id, with_email[start : start + WELCOME_BATCH])
    return len(with_email)


def staff_welcome_send(*, district_id: int, user_ids: Iterable[int]) -> int:
    """Send the welcome email to these new accounts (the mail worker's half of the above).

    Skips accounts that already chose a password (a retried task never re-invites them) and
    sends nothing once the district switched to Clever single sign-on. Returns how many went.
    """
    from ..emails import send_welcome_emails

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
