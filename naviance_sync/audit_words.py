"""The audit log in words: what an event's action, object and field mean to a district admin.

Events store stable codes (``clever.students.codes.saved``, ``StaffImportSettings``,
``school_default_role``) so filters and support's tooling keep working; the pages show these
words instead. Pure functions over the stored text and the model registry; an action nobody
named yet reads as its code's words ("keyword rule move" rather than "keyword_rule.move").
"""

from __future__ import annotations

import re

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

DATA_TYPES = {"students": "Student integration", "staff": "Staff integration"}

ACTIONS = {
    "alert.resolved": "Alert resolved",
    "auth.sign_out_everywhere": "Signed out everywhere",
    "clever.connection.reset": "Configuration reset",
    "clever.connection.saved": "Clever connection saved",
    "clever.district_id.confirmed": "Clever district ID confirmed by support",
    "clever.school_match.saved": "School matches saved",
    "clever.sync.disabled": "Automated sync turned off",
    "clever.sync.enabled": "Automated sync turned on",
    "clever.token.refreshed": "Clever access refreshed",
    "clever.token.set_by_hand": "Clever access set by hand (support)",
    "keyword_rule.create": "Title keyword added",
    "keyword_rule.delete": "Title keyword removed",
    "keyword_rule.move": "Title keyword moved",
    "keyword_rule.update": "Title keyword changed",
    "privacy.clever_data_deleted": "Clever data deleted",
    "run.approved": "Import approved",
    "school.created_from_clever": "School created from Clever",
    "staff.update": "Staff account changed",
    "student.update": "Student record changed",
    "staff_settings.save": "Staff import settings saved",
    "staff_settings.update": "Staff import settings changed",
    "support.user.password_link_sent": "Password link sent by support",
    "zone.create": "Zone added",
}
# clever.<data type>.<what>.<done>: "Student integration: codes saved".
DATA_TYPE_ACTIONS = {
    "codes.saved": "codes saved",
    "fields.saved": "fields matched",
    "field_rules.saved": "field rules saved",
    "settings.saved": "sync settings saved",
    "recipients.saved": "email recipients saved",
    "recipients.added": "email recipients added",
    "recipients.removed": "email recipient removed",
}
SUPPORT_DONE = {"created": "added", "changed": "changed", "deleted": "deleted"}
_DEFAULT_REPR = re.compile(r"^(\w+) object \((\d+)\)$")


def _words(code: str) -> str:
    return re.sub(r"[._]+", " ", code).strip()


def _model_named(class_name: str):
    for model in apps.get_models():
        if model.__name__ == class_name:
            return model
    return None


def _model_by_model_name(model_name: str):
    for model in apps.get_models():
        if model._meta.model_name == model_name:
            return model
    return None


def action_label(action: str) -> str:
    """ "clever.students.codes.saved" -> "Student integration: codes saved"."""
    if action in ACTIONS:
        return ACTIONS[action]
    parts = action.split(".")
    if len(parts) == 4 and parts[0] == "clever" and parts[1] in DATA_TYPES:
        what = DATA_TYPE_ACTIONS.get(".".join(parts[2:]), _words(".".join(parts[2:])))
        return f"{DATA_TYPES[parts[1]]}: {what}"
    if len(parts) == 2 and parts[0] == "launch":
        from .models import LaunchDateChange

        return dict(LaunchDateChange.Kind.choices).get(parts[1], _words(parts[1])).capitalize()
    if len(parts) == 3 and parts[0] == "support":
        model = _model_by_model_name(parts[1])
        noun = model._meta.verbose_name if model is not None else _words(parts[1])
        return f"Support {SUPPORT_DONE.get(parts[2], _words(parts[2]))} {noun}"
    return _words(action).capitalize()


def object_label(object_type: str, object_repr: str) -> str:
    """ "StaffImportSettings", "StaffImportSettings object (1)" -> "Staff import settings";
    "School", "Lincoln High" -> "School: Lincoln High"."""
    if not object_type:
        return ""
    model = _model_named(object_type)
    noun = str(model._meta.verbose_name) if model is not None else _words(object_type)
    noun = noun[:1].upper() + noun[1:]
    if not object_repr or _DEFAULT_REPR.match(object_repr) or object_repr.lower() == noun.lower():
        return noun
    return f"{noun}: {object_repr}"


def field_label(object_type: str, field: str) -> str:
    """ "school_default_role" on StaffImportSettings -> "School default role"."""
    if not field:
        return ""
    model = _model_named(object_type) if object_type else None
    if model is not None:
        try:
            name = str(model._meta.get_field(field).verbose_name)
            return name[:1].upper() + name[1:]
        except FieldDoesNotExist:
            pass
    return _words(field).capitalize()
