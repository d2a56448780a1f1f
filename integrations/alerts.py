"""Resolve Alerts: a person decides whether a Clever record is an existing student (Match) or a
new one (Create Record); Process All Updates carries the decisions out.

Decisions are stored on the Alert, so a later sync honours them even before they are processed
(the engine reads them as "resolutions"), and once processed the record is linked by Clever id.
"""

from __future__ import annotations

from django.utils import timezone

from naviance_sync.audit import audit_record
from naviance_sync.models import District
from naviance_sync.scoping import for_district

from .engine.matching import linked_to_other
from .engine.registry import get_spec
from .engine.service import alerts_apply
from .models import Alert, ImportRun
from .runs import RunRefused, run_start

CHOICE_MATCH = "match"
CHOICE_CREATE = "create"


class AlertChoiceError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def alert_choose(
    *, district: District, alert_id: int, choice: str, local_id: int | None = None, user=None
) -> Alert:
    """Record Match (with one of the alert's candidates) or Create Record for one alert."""
    alert = for_district(Alert, district).filter(pk=alert_id).first()
    if alert is None:
        raise AlertChoiceError("This alert does not exist.")
    if alert.status in (Alert.Status.MATCHED, Alert.Status.CREATED):
        raise AlertChoiceError("This alert was already processed.")
    if choice == CHOICE_MATCH:
        if local_id is None or int(local_id) not in {int(c) for c in alert.candidate_ids}:
            raise AlertChoiceError("Choose one of the possible matches listed for this record.")
        spec = get_spec(alert.data_type)
        candidate = (
            for_district(spec.model, district)
            .filter(pk=int(local_id))
            .values_list("clever_id", spec.active_column)
            .first()
        )
        if candidate is None:
            raise AlertChoiceError("The chosen record no longer exists: choose Create Record.")
        if linked_to_other(candidate[0], alert.clever_id, spec.is_active(candidate[1])):
            raise AlertChoiceError(
                "That record is linked to another Clever record that is still in Clever, so it "
                "cannot be matched: choose Create Record."
            )
        status, chosen = Alert.Status.MATCH_CHOSEN, int(local_id)
    elif choice == CHOICE_CREATE:
        status, chosen = Alert.Status.CREATE_CHOSEN, None
    else:
        raise AlertChoiceError("Choose Match or Create Record.")
    old = alert.get_status_display()
    Alert.objects.filter(pk=alert.pk).update(
        status=status, chosen_id=chosen, resolved_by=user, resolved_at=timezone.now()
    )
    alert.refresh_from_db()
    audit_record(
        district=district,
        actor=user,
        action="alert.resolved",
        obj=alert,
        field="status",
        old=old,
        new=alert.get_status_display(),
    )
    return alert


def alerts_process(*, district: District, data_type: str, user=None) -> ImportRun:
    """Process All Updates, in the request: usually a handful of records."""
    pending = for_district(Alert, district).filter(
        data_type=data_type, status__in=(Alert.Status.MATCH_CHOSEN, Alert.Status.CREATE_CHOSEN)
    )
    if not pending.exists():
        raise RunRefused("Choose Match or Create Record for at least one alert first.")
    run = run_start(
        district=district,
        data_type=data_type,
        mode=ImportRun.Mode.IMPORT,
        user=user,
        trigger=ImportRun.Trigger.MANUAL,
        enqueue=False,
    )
    return alerts_apply(run_id=run.pk).run
