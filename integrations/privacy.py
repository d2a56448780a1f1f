"""Disconnect from Clever and delete what came from it, on the district's written request.

Why this exists: district data-privacy agreements (the SDPC's NDPA and the state DPAs built on it)
carry a "Disposition of Data" clause: on request, delete the Student Data and confirm in writing.
``district_data_delete`` is that request, done in one transaction and recorded twice: a
:class:`~naviance_sync.models.DeletionRecord` (counts only, no PII, kept as proof) and an
``AuditEvent``.

What goes: every student of the district; staff accounts an import created (linked to Clever and
with a role the import chose), except the person asking and accounts whose role was set by hand;
the Clever links of the accounts that stay (Clever id, Clever-sourced school access, Clever
sign-in links); and the whole Clever integration: connection and token, Clever's school list,
school matches, field mappings, codes, sync settings, notification recipients, runs with their
results and update logs, alerts, the sync lease. What stays, and why, is ``KEPT`` below (the
tests check that every district-owned model is in one list or the other).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q

from naviance_sync.audit import audit_record
from naviance_sync.models import DeletionRecord, District
from staff.models import StaffSchoolAccess
from students.models import Student

from .models import (
    Alert,
    CleverConnection,
    CleverSchool,
    CodeDefinition,
    FieldMapping,
    ImportRun,
    NotificationRecipient,
    RunResult,
    SchoolMatch,
    SyncLease,
    SyncSettings,
    UpdateLog,
)

logger = logging.getLogger("integrations.privacy")

DELETE_ACTION = "privacy.clever_data_deleted"

# Models with a district whose rows the deletion keeps, and why (anything else district-owned is
# deleted; tests/security/test_deletion.py fails when a new district-owned model is in neither).
KEPT: dict[str, str] = {
    "naviance_sync.District": "the tenant itself; support staff close accounts, not this page",
    "naviance_sync.School": "the district's own school list (public directory data, no PII)",
    "naviance_sync.LaunchDateChange": "support staff's record of the contract's launch dates",
    "naviance_sync.AuditEvent": "the audit trail must survive, including this deletion",
    "naviance_sync.DeletionRecord": "the proof of deletion (counts only)",
    "staff.User": "the requester and accounts whose role was set by hand stay (unlinked)",
    "staff.StaffSchoolAccess": "school access added by hand to accounts that stay",
    "staff.Role": "the district's own roles, set up by its admins",
    "staff.JobFunction": "the district's own job functions",
    "staff.Zone": "the district's own access zones",
    "staff.TitleKeywordRule": "the district's own staff rules (no personal data)",
    "staff.StaffImportSettings": "the district's own staff defaults (no personal data)",
}


class DeletionRefused(Exception):
    """The deletion cannot happen now; ``message`` says why in the admin's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DeletionPreview:
    """What a deletion would remove now (shown on the confirmation page)."""

    students: int
    staff_accounts: int
    runs: int
    alerts: int
    connected: bool


def _imported_staff(*, district: District, requester):
    """Accounts an import created: linked to Clever, role chosen by the import, not the requester."""
    User = get_user_model()
    qs = User.objects.filter(district=district, clever_id__isnull=False).exclude(
        role_source=User.Source.MANUAL
    )
    if getattr(requester, "pk", None):
        qs = qs.exclude(pk=requester.pk)
    return qs


def deletion_preview(*, district: District, requester) -> DeletionPreview:
    return DeletionPreview(
        students=Student.objects.filter(district=district).count(),
        staff_accounts=_imported_staff(district=district, requester=requester).count(),
        runs=ImportRun.objects.filter(district=district).count(),
        alerts=Alert.objects.filter(district=district).count(),
        connected=CleverConnection.objects.filter(district=district).exists(),
    )


def confirmation_matches(*, district: District, typed: str) -> bool:
    """The admin typed the district's name (surrounding spaces and letter case ignored)."""
    return " ".join(typed.split()).casefold() == " ".join(district.name.split()).casefold()


def _delete(qs) -> int:
    """Delete and return how many rows of the queryset's own model went (cascades reported apart)."""
    _, per_model = qs.delete()
    return per_model.get(qs.model._meta.label, 0)


def district_data_delete(*, district: District, requester, typed_name: str) -> DeletionRecord:
    """Delete the district's Clever data in one transaction; refuse with a reason instead.

    Refused while an import is queued or running (it would write again after we delete); the
    lease rows are locked first, the way ``integrations.runs.run_start`` locks them, so a run
    cannot start halfway through.
    """
    if not confirmation_matches(district=district, typed=typed_name):
        raise DeletionRefused(
            f'Type the district name as shown ("{district.name}") to confirm the deletion.'
        )
    User = get_user_model()
    with transaction.atomic():
        SyncLease.objects.filter(district=district).update(fence=F("fence"))
        if ImportRun.objects.filter(
            district=district, status__in=ImportRun.ACTIVE_STATUSES
        ).exists():
            raise DeletionRefused(
                "An import is queued or running. Wait for it to finish, then delete."
            )
        counts: dict[str, int] = {}
        counts["run_results"] = RunResult.objects.filter(run__district=district).count()
        counts["update_logs"] = _delete(UpdateLog.objects.filter(district=district))
        counts["alerts"] = _delete(Alert.objects.filter(district=district))
        counts["sync_leases"] = _delete(SyncLease.objects.filter(district=district))
        counts["runs"] = _delete(ImportRun.objects.filter(district=district))
        counts["students"] = _delete(Student.objects.filter(district=district))
        counts["staff_accounts"] = _delete(_imported_staff(district=district, requester=requester))
        kept = User.objects.filter(district=district)
        counts["staff_unlinked"] = kept.filter(clever_id__isnull=False).update(clever_id=None)
        counts["staff_clever_access"] = _delete(
            StaffSchoolAccess.objects.filter(user__district=district).exclude(
                source=StaffSchoolAccess.Source.MANUAL
            )
        )
        counts["clever_sign_in_links"] = _delete_clever_sign_in_links(district=district)
        counts["school_matches"] = _delete(SchoolMatch.objects.filter(district=district))
        counts["clever_schools"] = _delete(CleverSchool.objects.filter(district=district))
        counts["field_mappings"] = _delete(FieldMapping.objects.filter(district=district))
        counts["code_definitions"] = _delete(CodeDefinition.objects.filter(district=district))
        counts["sync_settings"] = _delete(SyncSettings.objects.filter(district=district))
        counts["notification_recipients"] = _delete(
            NotificationRecipient.objects.filter(district=district)
        )
        counts["connection"] = _delete(CleverConnection.objects.filter(district=district))
        record = DeletionRecord.objects.create(
            district=district,
            district_name=district.name,
            requested_by=requester if getattr(requester, "pk", None) else None,
            requested_by_label=getattr(requester, "username", "") or "system",
            counts=counts,
        )
        audit_record(
            district=district,
            actor=requester,
            action=DELETE_ACTION,
            obj=record,
            field="clever_data",
            old=f"{counts['students']} students, {counts['staff_accounts']} staff accounts",
            new="deleted",
        )
        email = getattr(requester, "email", "")
        if email:
            transaction.on_commit(lambda: _confirm_by_email(record=record, to=email))
    logger.info("district %s: Clever data deleted on request (record %s)", district.pk, record.pk)
    return record


def _delete_clever_sign_in_links(*, district: District) -> int:
    """Clever single sign-on links (allauth SocialAccount rows) of the district's accounts."""
    try:
        from allauth.socialaccount.models import SocialAccount
    except ImportError:  # pragma: no cover - allauth is installed with the product
        return 0
    return _delete(SocialAccount.objects.filter(Q(user__district=district), provider="clever"))


def _confirm_by_email(*, record: DeletionRecord, to: str) -> None:
    """The written confirmation the data-privacy agreement asks for (counts only, no PII)."""
    # In the district's time zone, labelled (issue 16 item 8); UTC once the district is gone.
    at = record.at.astimezone(record.district.tz) if record.district else record.at
    lines = [
        f"The Clever data of {record.district_name} was deleted on "
        f"{at:%Y-%m-%d at %H:%M} {at.tzname()} at the request of {record.requested_by_label}.",
        "",
        "Deleted:",
        *(f"  {name.replace('_', ' ')}: {count}" for name, count in record.counts.items()),
        "",
        f"Deletion record #{record.pk} is kept as proof. The district is no longer connected to "
        "Clever; connecting again starts a new integration.",
    ]
    try:
        send_mail(
            subject=f"Clever data deleted: {record.district_name}",
            message="\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[to],
        )
    except OSError:
        logger.exception("deletion record %s: confirmation email not sent", record.pk)
