"""Writes for sign-in: the chosen school in the session, and "sign out everywhere"."""

from __future__ import annotations

import hashlib
import time

from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import F

from naviance_sync.audit import audit_record
from naviance_sync.models import School

from .selectors import chooses_school, user_schools

SCHOOL_SESSION_KEY = "school_id"
COMPLETED_CODES_KEY = "sso_completed_codes"
RESTARTS_KEY = "sso_restarts"
COMPLETED_CODE_TTL = 300.0  # a double-hit callback arrives within seconds; keep 5 minutes
RESTART_WINDOW = 120.0
MAX_RESTARTS = 3


def school_choose(*, session: SessionBase, user, school: School) -> None:
    """Remember the school the user works at for this session (checked against their access)."""
    if not user_schools(user=user).filter(pk=school.pk).exists():
        raise ValueError(f"{user} has no access at {school}.")
    session[SCHOOL_SESSION_KEY] = school.pk


def school_choose_automatically(*, session: SessionBase, user) -> bool:
    """At sign-in: pick the only school, or leave the choice to the user. True when chosen."""
    session.pop(SCHOOL_SESSION_KEY, None)
    if getattr(user, "district_id", None) is None or not chooses_school(user=user):
        return True
    schools = list(user_schools(user=user).values_list("pk", flat=True)[:2])
    if len(schools) == 1:
        session[SCHOOL_SESSION_KEY] = schools[0]
    return len(schools) <= 1


@transaction.atomic
def sign_out_everywhere(*, user) -> int:
    """End every session of ``user`` on every device, this one included.

    The generation is part of the session hash (staff.models.User.get_session_auth_hash), so
    bumping it makes Django drop every existing session at its next request, whatever the session
    backend. Returns the new generation.
    """
    User = get_user_model()
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    new = User.objects.values_list("session_generation", flat=True).get(pk=user.pk)
    audit_record(
        district=user.district,
        actor=user,
        action="auth.sign_out_everywhere",
        obj=user,
        field="session_generation",
        old=new - 1,
        new=new,
    )
    user.session_generation = new
    return new


def _code_key(code: str) -> str:
    # Only a digest is kept: the code itself is a credential until it expires.
    return hashlib.sha256(code.encode()).hexdigest()[:32]


def code_remember_completed(*, session: SessionBase, code: str, now: float | None = None) -> None:
    """Note that this session already signed in with ``code`` (for double-hit callbacks)."""
    now = time.time() if now is None else now
    done = {
        k: t
        for k, t in (session.get(COMPLETED_CODES_KEY) or {}).items()
        if now - t < COMPLETED_CODE_TTL
    }
    done[_code_key(code)] = now
    session[COMPLETED_CODES_KEY] = done


def code_was_completed(*, session: SessionBase, code: str, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    stamp = (session.get(COMPLETED_CODES_KEY) or {}).get(_code_key(code))
    return stamp is not None and now - stamp < COMPLETED_CODE_TTL


def restart_allowed(*, session: SessionBase, now: float | None = None) -> bool:
    """Count a state-less restart; False once Clever has bounced us back too often in a row.

    A provider that keeps dropping ``state`` would otherwise loop between us and Clever forever.
    """
    now = time.time() if now is None else now
    recent = [t for t in (session.get(RESTARTS_KEY) or []) if now - t < RESTART_WINDOW]
    if len(recent) >= MAX_RESTARTS:
        session[RESTARTS_KEY] = recent
        return False
    session[RESTARTS_KEY] = [*recent, now]
    return True


def restarts_clear(*, session: SessionBase) -> None:
    session.pop(RESTARTS_KEY, None)
