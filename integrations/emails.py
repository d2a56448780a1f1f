"""Run summary emails: counts, errors, guard stops, failures and a link. Never a student's name
or email (RELIABILITY 5: minimal PII in emails and logs)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import ImportRun, NotificationRecipient, SyncSettings

logger = logging.getLogger("integrations.emails")


def run_summary_recipients(*, run: ImportRun) -> list[str]:
    return list(
        NotificationRecipient.objects.filter(
            district_id=run.district_id, data_type=run.data_type
        ).values_list("email", flat=True)
    )


def run_summary_subject(*, run: ImportRun) -> str:
    outcome = {
        ImportRun.Status.SUCCEEDED: "completed",
        ImportRun.Status.FAILED: "failed",
        ImportRun.Status.NEEDS_REVIEW: "stopped for review",
        ImportRun.Status.COMPLETED_WITH_ERRORS: f"completed with errors: {run.errors_summary}",
        ImportRun.Status.HELD: "held: source looks wrong",
    }.get(run.status, run.get_status_display().lower())
    return (
        f"Clever {run.data_type} {run.get_mode_display().lower()} {outcome} ({run.district.name})"
    )


def run_summary_send(*, run_id: int) -> bool:
    """Send once: ``notified_at`` is set after sending (at-least-once if the worker dies between)."""
    run = ImportRun.objects.select_related("district").get(pk=run_id)
    if run.notified_at is not None or run.is_active:
        return False
    recipients = run_summary_recipients(run=run)
    if not recipients:
        ImportRun.objects.filter(pk=run.pk, notified_at__isnull=True).update(
            notified_at=timezone.now()
        )
        return False
    sync = SyncSettings.objects.filter(district_id=run.district_id, data_type=run.data_type).first()
    path = reverse("integrations:run_detail", kwargs={"run_id": run.pk})
    context = {
        "run": run,
        "counts": run.counts(),
        "link": settings.PORTAL_URL.rstrip("/") + path,
        "paused_reason": sync.paused_reason if sync else "",
    }
    with timezone.override(run.district.tz):  # times in the district's zone, labelled
        body = render_to_string("emails/run_summary.txt", context)
    message = EmailMessage(
        subject=run_summary_subject(run=run),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.send(fail_silently=False)
    ImportRun.objects.filter(pk=run.pk, notified_at__isnull=True).update(notified_at=timezone.now())
    logger.info("run %s summary sent to %d recipient(s)", run.pk, len(recipients))
    return True
