"""The student field mapping the mapping tests share: every field matched, one to a dotted ``ext``
key, one left unmatched and two to the same Clever field; and the interpreted lookup the compiled
mapping is checked against."""

from __future__ import annotations

from typing import Any

from naviance_sync.sync_contract import get_path

MAPPING = {
    "student_id": "roles.student.sis_id",
    "first_name": "name.first",
    "middle_name": "name.middle",
    "last_name": "name.last",
    "email": "email",
    "birth_date": "roles.student.dob",
    "gender": "roles.student.gender",
    "grade": "roles.student.grade",
    "class_year": "roles.student.grade",
    "graduation_year": "roles.student.graduation_year",
    "weighted_gpa": "roles.student.ext.gpa.weighted",
    "unweighted_gpa": "",
    "district_username": "roles.student.credentials.district_username",
    "state_id": "roles.student.state_id",
    "student_number": "roles.student.student_number",
}


def full_lookup(
    raw: Any, parts: tuple[str, ...], path: str, dotted: tuple[tuple[str, ...], ...]
) -> Any:
    """The interpreted mapping's lookup of one step (what ``students.sync`` did before the
    compiled mapping and ``students.compiled.after_miss``), kept as the reference those are
    checked against: the plain nested lookup, and the dotted-key rules of ``get_path`` only
    when a dict on the way holds one of the dotted keys it tries (``dotted``, per level).
    """
    current = raw
    for part in parts:
        if isinstance(current, dict) and part in current:
            current = current[part]
        else:
            break
    else:
        return current
    node = raw
    for level, part in enumerate(parts):
        if not isinstance(node, dict):
            break
        for key in dotted[level]:
            if key in node:
                return get_path(raw, path)
        if part not in node:
            break
        node = node[part]
    return None
