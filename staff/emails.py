"""The welcome email a new staff account gets: a link to set a password (password-reset style).

Not sent when the district signs staff in with Clever single sign-on: those staff never need a
password here. The link uses Django's password-reset tokens, so it stops working once the password
is set (the token is bound to the password hash) and after ``PASSWORD_RESET_TIMEOUT``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import User


def account_setup_url(user: User) -> str:
    """The absolute link a new staff member follows to choose a password."""
    path = reverse(
        "account_setup",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.PORTAL_URL.rstrip("/") + path


def welcome_message(user: User) -> mail.EmailMultiAlternatives:
    context = {
        "user": user,
        "district": user.district,
        "url": account_setup_url(user),
        "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    subject = f"Your {user.district.name} account is ready: set your password"
    body = render_to_string("staff/email/welcome.txt", context)
    message = mail.EmailMultiAlternatives(subject, body, to=[user.email])
    message.attach_alternative(render_to_string("staff/email/welcome.html", context), "text/html")
    return message


def send_welcome_emails(users: Iterable[User]) -> int:
    """Send one welcome email per account with an email address; returns how many were sent."""
    messages = [welcome_message(u) for u in users if u.email]
    if not messages:
        return 0
    with mail.get_connection() as connection:
        return connection.send_messages(messages) or 0


def send_password_link(user: User) -> int:
    """Support's way to give an account a password: the set-password link by email (support
    never types or sees one). The link stops working once a password is set."""
    url = account_setup_url(user)
    days = max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)
    where = user.district.name if user.district_id else "Naviance Sync"
    body = (
        f"Hello {user.get_full_name() or user.username},\n\n"
        f"Support sent you a link to set a new password for your {where} account "
        f"({user.username}):\n\n{url}\n\n"
        f"The link works once and for {days} day{'s' if days != 1 else ''}. If you did not ask "
        "for it, you can ignore this email: your password has not changed.\n"
    )
    return mail.EmailMessage(f"{where}: set a new password", body, to=[user.email]).send()
