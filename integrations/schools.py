"""Matching local schools to Clever schools: suggestions (pure) and the one save service.

Shared by the student integration's setup and the staff integration's "Set Up Clever" page, so a
district has one set of school matches whichever integration it configures first.

Suggestions: the NCES id first (it is the federal id, so equal ids are the same school), then the
school's normalised name ("Lincoln HS" is "Lincoln High School", "Washington Elem." is
"Washington Elementary School"). A Clever school is suggested for at most one local school, and a
name shared by two schools on either side suggests nothing (a wrong guess is worse than none).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from naviance_sync.audit import audit_changes, audit_record
from naviance_sync.ids import id_from_text
from naviance_sync.models import District, School
from naviance_sync.scoping import for_district

from .models import CleverSchool, SchoolMatch

# --- pure suggestion ---------------------------------------------------------------------------

# Abbreviations districts use in school names -> the word they stand for.
_WORDS = {
    "hs": "high",
    "ms": "middle",
    "mid": "middle",
    "es": "elementary",
    "el": "elementary",
    "elem": "elementary",
    "elementry": "elementary",
    "ele": "elementary",
    "jr": "junior",
    "jh": "junior high",
    "jhs": "junior high",
    "sr": "senior",
    "shs": "senior high",
    "st": "saint",
    "ste": "sainte",
    "mt": "mount",
    "ft": "fort",
    "ctr": "center",
    "centre": "center",
    "acad": "academy",
    "int": "intermediate",
    "inter": "intermediate",
    "intermed": "intermediate",
    "prep": "preparatory",
    "alt": "alternative",
    "comm": "community",
    "cmty": "community",
    "tech": "technical",
    "voc": "vocational",
    "ctc": "career technical center",
    "k8": "k 8",
    "pk8": "pk 8",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
}
# Words that say nothing about which school it is.
_NOISE = {"school", "schools", "sch", "the", "of", "and", "campus"}


def normalise_school_name(name: str) -> str:
    """A school name reduced to the words that identify it (pure).

    Case, accents, punctuation, "&"/"and", "School" and common abbreviations do not matter:
    "St. Mary's HS" and "Saint Marys High School" both become "saint marys high".
    """
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " and ")
    text = re.sub(r"(\w)['’`](\w)", r"\1\2", text)  # Mary's -> marys
    text = re.sub(r"(?<=\b[a-z])\.(?=[a-z]\b)", "", text)  # H.S. -> hs
    text = re.sub(r"[^a-z0-9]+", " ", text)
    words: list[str] = []
    for word in text.split():
        expanded = _WORDS.get(word, word)
        words.extend(w for w in expanded.split() if w not in _NOISE)
    return " ".join(words)


def normalise_nces_id(value: str | None) -> str:
    return re.sub(r"\D", "", value or "")


@dataclass(frozen=True, slots=True)
class SchoolRef:
    """What matching needs to know about a school on either side."""

    id: Any  # local school pk, or Clever school id
    name: str
    nces_id: str = ""


@dataclass(frozen=True, slots=True)
class Suggestion:
    clever_id: str
    method: str  # SchoolMatch.Method value: "nces" or "name"


def _unique_index(items: Iterable[SchoolRef], key) -> dict[str, Any]:
    """key -> id for keys that exactly one school has (ambiguous keys are left out)."""
    seen: dict[str, Any] = {}
    dupes: set[str] = set()
    for item in items:
        k = key(item)
        if not k:
            continue
        if k in seen and seen[k] != item.id:
            dupes.add(k)
        seen[k] = item.id
    return {k: v for k, v in seen.items() if k not in dupes}


def suggest_school_matches(
    local: Sequence[SchoolRef],
    clever: Sequence[SchoolRef],
    *,
    taken: Iterable[str] = (),
) -> dict[Any, Suggestion]:
    """Suggested Clever school for each local school that has one (pure).

    ``taken``: Clever ids already matched (kept out of suggestions). NCES id wins over name; each
    Clever school is suggested once.
    """
    used = set(taken)
    out: dict[Any, Suggestion] = {}
    clever_by_nces = _unique_index(clever, lambda s: normalise_nces_id(s.nces_id))
    local_by_nces = _unique_index(local, lambda s: normalise_nces_id(s.nces_id))
    for nces, local_id in local_by_nces.items():
        clever_id = clever_by_nces.get(nces)
        if clever_id is not None and clever_id not in used:
            out[local_id] = Suggestion(clever_id, SchoolMatch.Method.NCES)
            used.add(clever_id)
    clever_by_name = _unique_index(clever, lambda s: normalise_school_name(s.name))
    local_by_name = _unique_index(local, lambda s: normalise_school_name(s.name))
    for name, local_id in local_by_name.items():
        if local_id in out:
            continue
        clever_id = clever_by_name.get(name)
        if clever_id is not None and clever_id not in used:
            out[local_id] = Suggestion(clever_id, SchoolMatch.Method.NAME)
            used.add(clever_id)
    return out


# --- reading for the page ------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolMatchRow:
    school: School
    match: SchoolMatch | None
    chosen_clever_id: str  # saved match, else the suggestion, else ""
    suggested: Suggestion | None
    locked: bool

    @property
    def is_matched(self) -> bool:
        return bool(self.match and self.match.clever_school_id)


def school_match_rows(*, district: District) -> list[SchoolMatchRow]:
    """Every local school with its saved match or suggestion; unmatched schools first."""
    schools = list(for_district(School, district).order_by("name"))
    clever = list(for_district(CleverSchool, district))
    matches = {
        m.school_id: m for m in for_district(SchoolMatch, district).select_related("clever_school")
    }
    taken = {m.clever_school.clever_id for m in matches.values() if m.clever_school_id}
    unmatched = [s for s in schools if not (matches.get(s.pk) and matches[s.pk].clever_school_id)]
    suggestions = suggest_school_matches(
        [SchoolRef(s.pk, s.name, s.nces_id) for s in unmatched],
        [SchoolRef(c.clever_id, c.name, c.nces_id) for c in clever],
        taken=taken,
    )
    rows = []
    for school in schools:
        match = matches.get(school.pk)
        suggestion = suggestions.get(school.pk)
        if match and match.clever_school_id:
            chosen = match.clever_school.clever_id
        else:
            chosen = suggestion.clever_id if suggestion else ""
        rows.append(
            SchoolMatchRow(
                school=school,
                match=match,
                chosen_clever_id=chosen,
                suggested=suggestion,
                locked=bool(match and match.locked_at),
            )
        )
    # Schools needing a decision first: no match and no suggestion, then suggestions, then matches.
    rows.sort(key=lambda r: (r.is_matched, r.suggested is not None, r.school.name.lower()))
    return rows


def school_match_summary(*, district: District) -> dict[str, int]:
    total = for_district(School, district).count()
    matched = for_district(SchoolMatch, district).filter(clever_school__isnull=False).count()
    return {
        "schools": total,
        "matched": matched,
        "unmatched": total - matched,
        "clever_schools": for_district(CleverSchool, district).count(),
    }


def clever_schools_left(
    *, rows: Sequence[SchoolMatchRow], clever_schools: Sequence[CleverSchool]
) -> dict[str, Any]:
    """The school matches page's counts of the Clever schools (pure): how many there are, how
    many are left to choose (none left: an unmatched school is not in Clever yet) and, once
    schools are matched (or Clever added one since), the Clever schools left over."""
    matched = {r.match.clever_school_id for r in rows if r.is_matched}
    shown = matched or any(c.new_since_setup for c in clever_schools)
    return {
        "clever_count": len(clever_schools),
        "free_clever": len(clever_schools) - len(matched),
        "unmatched_clever": [c for c in clever_schools if c.pk not in matched] if shown else [],
    }


# --- the Clever school list, refreshed by every sync -------------------------------------------


def clever_school_values(school: Any) -> dict[str, Any]:
    """A Clever school (``integrations.clever.CleverSchool``) as the snapshot row stores it."""
    return {
        "name": (school.name or school.id)[:200],
        "nces_id": (school.nces_id or "")[:20],
        "state_id": (school.state_id or "")[:40],
        "sis_id": (school.sis_id or "")[:100],
        "school_number": (school.school_number or "")[:100],
        "low_grade": (school.low_grade or "")[:40],
        "high_grade": (school.high_grade or "")[:40],
        "raw": school.raw if isinstance(school.raw, dict) else {},
    }


def clever_schools_refresh(
    *, district: District, clever_district_id: str, schools: Iterable[Any]
) -> list[CleverSchool]:
    """Upsert the schools Clever shares now; returns the rows created (new in Clever).

    Runs at the start of every sync, so a school Clever starts sharing after setup is known at
    once: its students are skipped as "not at a school matched to Clever" (not errors), the run
    says so, and the school matching page lists it as new. Never deletes a row (a match, locked
    or not, keeps its school; connecting again is what drops schools Clever stopped sharing).
    A few queries, not one per school.
    """
    existing = {c.clever_id: c for c in for_district(CleverSchool, district)}
    created: list[CleverSchool] = []
    changed: list[CleverSchool] = []
    fields = ("name", "nces_id", "state_id", "sis_id", "school_number", "low_grade", "high_grade")
    for school in schools:
        if not school.id or len(school.id) > 64:
            continue
        if school.district and clever_district_id and school.district != clever_district_id:
            continue
        values = clever_school_values(school)
        row = existing.get(school.id)
        if row is None:
            row = CleverSchool(
                district=district, clever_id=school.id, new_since_setup=True, **values
            )
            existing[school.id] = row
            created.append(row)
        elif any(getattr(row, f) != values[f] for f in fields):
            for f, value in values.items():
                setattr(row, f, value)
            changed.append(row)
    if created:
        CleverSchool.objects.bulk_create(created, ignore_conflicts=True)
    if changed:
        CleverSchool.objects.bulk_update(changed, [*fields, "raw"])
    return created


def new_clever_schools_unmatched(*, district: District) -> list[str]:
    """Names of the schools Clever added since setup that no local school matches yet."""
    return list(
        for_district(CleverSchool, district)
        .filter(new_since_setup=True, matches__isnull=True)
        .order_by("name")
        .values_list("name", flat=True)
    )


def unmatched_schools_note(
    names: Sequence[str], *, records: str = "students", budget: int = 300
) -> str:
    """The run's note about schools Clever added that are not matched yet (pure).

    Fits ``budget`` characters (the run's note field): long names are shortened and, when there
    are many, the rest are counted ("and 3 more").
    """
    if not names:
        return ""
    n = len(names)
    if n == 1:
        head, tail = (
            "Clever shares 1 school that is not matched yet: ",
            (f". Its {records} were skipped; match it in Clever Data Integration Setup."),
        )
    else:
        head, tail = (
            f"Clever shares {n} schools that are not matched yet: ",
            (f". Their {records} were skipped; match them in Clever Data Integration Setup."),
        )
    room = budget - len(head) - len(tail)
    short = [name if len(name) <= 60 else f"{name[:59]}…" for name in names]
    for shown in range(n, 0, -1):
        listed = ", ".join(short[:shown])
        if shown < n:
            listed += f" and {n - shown} more"
        if len(listed) <= room:
            break
    return head + listed + tail


# --- saving ------------------------------------------------------------------------------------


class SchoolMatchError(ValueError):
    def __init__(self, message: str, *, errors: Mapping[int, str]) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors)  # local school pk -> message


def school_matches_save(
    *,
    district: District,
    actor: Any = None,
    choices: Mapping[int, str],
    suggested: Mapping[int, Suggestion] | None = None,
) -> list[SchoolMatch]:
    """Save the Matching Clever School choices: ``{local school pk: Clever school id or ""}``.

    Schools not in ``choices`` keep their match. A Clever school can match one local school only;
    a locked match (an import already brought that school's records) cannot change. Either
    problem raises :class:`SchoolMatchError` naming the schools, and nothing is saved.
    """
    suggested = suggested or {}
    schools = {s.pk: s for s in for_district(School, district)}
    clever = {c.clever_id: c for c in for_district(CleverSchool, district)}
    existing = {
        m.school_id: m for m in for_district(SchoolMatch, district).select_related("clever_school")
    }
    errors: dict[int, str] = {}
    wanted: dict[int, str] = {}
    for school_id, clever_id in choices.items():
        school = schools.get(id_from_text(school_id) or 0)
        if school is None:
            raise SchoolMatchError(
                "A school on this page is not one of your district's.", errors={}
            )
        clever_id = (clever_id or "").strip()
        if clever_id and clever_id not in clever:
            errors[school.pk] = "That Clever school is not shared with your district any more."
            continue
        match = existing.get(school.pk)
        current = match.clever_school.clever_id if match and match.clever_school_id else ""
        if match and match.locked_at and clever_id != current:
            errors[school.pk] = (
                f"{school.name} is locked to “{match.clever_school.name if match.clever_school_id else 'no school'}”: "
                "an import already brought this school's records, so its match cannot change."
            )
            continue
        wanted[school.pk] = clever_id
    errors.update(_shared_clever_schools(existing, wanted, schools=schools, clever=clever))
    if errors:
        raise SchoolMatchError(
            "Some school matches need your attention; nothing was saved.", errors=errors
        )
    with transaction.atomic():
        return _school_matches_write(
            district=district,
            actor=actor,
            wanted=wanted,
            existing=existing,
            schools=schools,
            clever=clever,
            suggested=suggested,
        )


def _shared_clever_schools(
    existing: Mapping[int, SchoolMatch],
    wanted: Mapping[int, str],
    *,
    schools: Mapping[int, School],
    clever: Mapping[str, CleverSchool],
) -> dict[int, str]:
    """A message for each changed school whose Clever school another school would match too:
    the resulting set of matches must use each Clever school once."""
    final = {
        sid: (m.clever_school.clever_id if m.clever_school_id else "")
        for sid, m in existing.items()
    }
    final.update(wanted)
    owners: dict[str, list[int]] = {}
    for sid, cid in final.items():
        if cid:
            owners.setdefault(cid, []).append(sid)
    errors: dict[int, str] = {}
    for cid, sids in owners.items():
        if len(sids) > 1:
            names = sorted(schools[s].name for s in sids if s in schools)
            for sid in sids:
                if sid in wanted:
                    errors[sid] = (
                        f"“{clever[cid].name}” is chosen for {' and '.join(names)}: a Clever "
                        "school can match only one local school."
                    )
    return errors


def _school_matches_write(
    *,
    district: District,
    actor: Any,
    wanted: Mapping[int, str],
    existing: Mapping[int, SchoolMatch],
    schools: Mapping[int, School],
    clever: Mapping[str, CleverSchool],
    suggested: Mapping[int, Suggestion],
) -> list[SchoolMatch]:
    """Save the checked choices (inside the caller's transaction), each audited."""
    saved = []
    for sid, cid in wanted.items():
        match = existing.get(sid)
        old = match.clever_school.name if match and match.clever_school_id else ""
        old_cid = match.clever_school.clever_id if match and match.clever_school_id else ""
        if old_cid == cid:
            continue
        hint = suggested.get(sid)
        method = hint.method if hint and hint.clever_id == cid else SchoolMatch.Method.MANUAL
        target = clever.get(cid) if cid else None
        if match is None:
            if target is None:
                continue
            match = SchoolMatch(district=district, school=schools[sid])
        match.clever_school = target
        match.method = method
        saved.append(match)
        audit_record(
            district=district,
            actor=actor,
            action="clever.school_match.saved",
            obj=schools[sid],
            field="clever_school",
            old=old,
            new=target.name if target else "",
        )
    # Free Clever schools first so a swap between two schools does not trip the constraint.
    freed = [m for m in saved if m.pk]
    if freed:
        SchoolMatch.objects.filter(pk__in=[m.pk for m in freed]).update(clever_school=None)
    for match in saved:
        match.save()
    # The matches were saved with every Clever school listed: none is "new since setup".
    for_district(CleverSchool, district).filter(new_since_setup=True).update(new_since_setup=False)
    return saved


def school_matches_accept_suggestions(
    *, district: District, actor: Any = None
) -> list[SchoolMatch]:
    """Save every suggestion for schools that have no match yet (the ``clever_setup`` path)."""
    rows = school_match_rows(district=district)
    suggestions = {r.school.pk: r.suggested for r in rows if r.suggested and not r.is_matched}
    return school_matches_save(
        district=district,
        actor=actor,
        choices={sid: s.clever_id for sid, s in suggestions.items()},
        suggested=suggestions,
    )


def schools_create_for_unmatched(*, district: District, actor: Any = None) -> list[School]:
    """Create a local school for each Clever school no local school matches, and match them.

    For support staff onboarding a new district (``clever_setup --create-missing-schools``).
    """
    return _schools_create(
        district=district,
        actor=actor,
        clever_schools=for_district(CleverSchool, district).filter(matches__isnull=True),
        action="school.created_from_clever",
    )


@dataclass(frozen=True)
class SchoolsFromClever:
    """What "Create schools from Clever" did: the schools made, and the Clever schools left
    for the district admin to match because a local school looks like them."""

    created: list[School]
    look_like_existing: list[str]


def schools_create_from_clever(*, district: District, actor: Any) -> SchoolsFromClever:
    """Support's "Create schools from Clever" (Django admin): a school for each Clever school
    that no local school matches, NCES id kept, matched to it and audited in the district's log.

    Uses the Clever schools the district's connection last saw (no call to Clever). A Clever
    school that an unmatched local school looks like (same NCES id or name: the match page's
    suggestion) is not duplicated: it is left for the district admin to match.
    """
    unmatched = list(for_district(CleverSchool, district).filter(matches__isnull=True))
    local = [
        SchoolRef(s.pk, s.name, s.nces_id)
        for s in for_district(School, district).filter(clever_match__isnull=True)
    ]
    suggested = {
        s.clever_id
        for s in suggest_school_matches(
            local, [SchoolRef(c.clever_id, c.name, c.nces_id) for c in unmatched]
        ).values()
    }
    created = _schools_create(
        district=district,
        actor=actor,
        clever_schools=[c for c in unmatched if c.clever_id not in suggested],
        action="support.school.created_from_clever",
    )
    return SchoolsFromClever(
        created=created,
        look_like_existing=sorted(c.name for c in unmatched if c.clever_id in suggested),
    )


def _schools_create(
    *, district: District, actor: Any, clever_schools: Iterable[CleverSchool], action: str
) -> list[School]:
    created = []
    with transaction.atomic():
        for clever_school in clever_schools:
            location = (
                clever_school.raw.get("location") if isinstance(clever_school.raw, dict) else None
            )
            location = location if isinstance(location, dict) else {}
            school = School.objects.create(
                district=district,
                name=(clever_school.name or f"Clever school {clever_school.clever_id}")[:200],
                nces_id=clever_school.nces_id[:20],
                state_id=clever_school.state_id[:40],
                address=str(location.get("address") or "")[:200],
                city=str(location.get("city") or "")[:100],
                state=str(location.get("state") or "")[:2],
                zip_code=str(location.get("zip") or "")[:10],
            )
            SchoolMatch.objects.create(
                district=district,
                school=school,
                clever_school=clever_school,
                method=SchoolMatch.Method.NCES if school.nces_id else SchoolMatch.Method.NAME,
            )
            audit_changes(
                district=district,
                actor=actor,
                action=action,
                obj=school,
                before={"name": "", "nces_id": "", "clever_school": ""},
                after={
                    "name": school.name,
                    "nces_id": school.nces_id,
                    "clever_school": f"{clever_school.name} ({clever_school.clever_id})",
                },
            )
            created.append(school)
    return created
