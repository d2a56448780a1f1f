"""Staff tasks. ``send_*`` tasks go to the "mail" queue (``CELERY_TASK_ROUTES``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_staff_welcome(district_id: int, user_ids: list[int]) -> None:
    """Welcome emails for accounts a staff import created (ids only, never addresses)."""
    from .services import staff_welcome_send

    staff_welcome_send(district_id=district_id, user_ids=user_ids)
