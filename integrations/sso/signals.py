"""On every sign-in (password or Clever): choose the school when there is only one."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .services import school_choose_automatically


@receiver(user_logged_in, dispatch_uid="sso_school_on_login")
def _school_on_login(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        school_choose_automatically(session=request.session, user=user)
