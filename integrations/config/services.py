"""Services that change a district's configuration: Match Fields, Define Codes, Sync Settings
and the e-mail recipients.

Each validates its input (a :class:`~integrations.config.rules.ConfigError` names every field that
is wrong and nothing is saved), writes in one transaction and audits the change (actor,
old -> new) through :mod:`naviance_sync.audit`. The connection's services are in :mod:`.connection`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from naviance_sync.audit import audit_changes, audit_record
from naviance_sync.models import District, School
from naviance_sync.scoping import for_district

from ..models import (
    CodeDefinition,
    FieldMapping,
    NotificationRecipient,
    SchoolMatch,
    SyncSettings,
)
from ..scheduling import first_run_at
from .rules import (
    DERIVED_CODE_FIELDS,
    LIMIT_FIELDS,
    LINK_FIELDS,
    RELATIVE_CODE_FIELDS,
    CodesError,
    ConfigError,
    ConfirmationRequired,
    RecipientsAdded,
    check_data_type,
    class_year_is_relative,
    code_audit_key,
    code_checked,
    codes_for_year,
    limit_errors,
    limits_normalized,
    link_field_changed,
    local_fields_for,
    parse_recipients,
    validate_mapping,
)
from .selectors import (
    clever_scan_cached,
    district_school_year_end,
    local_records_exist,
    mapping_choices_or_suggested,
    saved_codes,
)


def field_mappings_save(
    *,
    district: District,
    actor: Any = None,
    data_type: str,
    mapping: Mapping[str, str],
    available: Iterable[str] = (),
    confirm_link_change: bool = False,
) -> dict[str, str]:
    """Save Match Fields. Required fields must be mapped; moving the link field (student ID) once
    records exist needs ``confirm_link_change``, because every record is then re-matched on the
    new field. Returns the saved choices."""
    fields = local_fields_for(data_type)
    if not fields:
        raise ConfigError(f"There are no {data_type} fields to match yet.")
    proposed = {
        f.name: (
            f.default_clever_field if not f.changeable else (mapping.get(f.name) or "").strip()
        )
        for f in fields
    }
    errors = validate_mapping(
        fields=fields,
        mapping=proposed,
        available=available,
        # The district's values as last read (a page saves only once they are loaded).
        scan=clever_scan_cached(district=district, data_type=data_type),
        kinds=data_type == "students",
    )
    if errors:
        raise ConfigError("Some fields need your attention.", errors=errors)
    saved = dict(
        for_district(FieldMapping, district)
        .filter(data_type=data_type)
        .values_list("local_field", "clever_field")
    )
    link = LINK_FIELDS[data_type]
    if (
        link_field_changed(saved=saved, proposed=proposed, link_field=link)
        and not confirm_link_change
        and local_records_exist(district=district, data_type=data_type)
    ):
        label = next((f.label for f in fields if f.name == link), link)
        raise ConfirmationRequired(
            f"You changed the Clever field for {label}. Existing records will be re-matched "
            f"on the new field: confirm to save.",
            errors={
                link: f"{label} was “{saved.get(link) or 'Do Not Import'}”. Existing records "
                "are matched on it: tick the confirmation to re-match them on the new field."
            },
        )
    with transaction.atomic():
        rows = {
            r.local_field: r
            for r in for_district(FieldMapping, district).filter(data_type=data_type)
        }
        for name, value in proposed.items():
            row = rows.get(name)
            if row is None:
                FieldMapping.objects.create(
                    district=district, data_type=data_type, local_field=name, clever_field=value
                )
            elif row.clever_field != value:
                row.clever_field = value
                row.save(update_fields=["clever_field"])
        audit_changes(
            district=district,
            actor=actor,
            action=f"clever.{data_type}.fields.saved",
            obj=district,
            before={k: saved.get(k, "") for k in proposed},
            after=proposed,
        )
        if any(
            saved.get(k, "") != proposed.get(k, "") for k in DERIVED_CODE_FIELDS if k in proposed
        ):
            derived_recompute_request(district=district, data_type=data_type)
    return proposed


def codes_save(
    *,
    district: District,
    actor: Any = None,
    data_type: str,
    codes: Mapping[str, Mapping[str, str]],
    allowed: Mapping[str, Iterable[str]] | None = None,
) -> None:
    """Save Define Codes: for each coded field, Clever value -> local code ("" = not mapped).

    Every value Clever may send is a row, the empty value too (Clever's grade enum has ``""``).
    Class years are given as this school year's class years ("2030") and, when the class year
    comes from the grade, stored relative to the school year (see ``RELATIVE_CODE_FIELDS``). A
    value too long to store that is left without a code is simply not stored (no code is what
    the sync does for a value without a row). Every error names the field and the value.
    """
    check_data_type(data_type)
    fields_by_name = {f.name: f for f in local_fields_for(data_type) if f.coded}
    year_end = district_school_year_end(district)
    relative = class_year_is_relative(
        mapping_choices_or_suggested(district=district, data_type=data_type, available=())[0]
    )
    field_errors: dict[str, str] = {}
    value_errors: dict[tuple[str, str], str] = {}
    to_store: dict[str, dict[str, str]] = {}
    for local_field, values in codes.items():
        f = fields_by_name.get(local_field)
        if f is None:
            field_errors[local_field] = f"“{str(local_field)[:60]}” is not a coded field."
            continue
        ok = set(allowed[local_field]) if allowed and local_field in allowed else None
        store = to_store.setdefault(local_field, {})
        for clever_value, local_code in values.items():
            clever_value = "" if clever_value is None else str(clever_value)
            error, stored = code_checked(
                field=f,
                clever_value=clever_value,
                local_code="" if local_code is None else str(local_code).strip(),
                allowed=ok,
                relative=local_field in RELATIVE_CODE_FIELDS and relative,
                school_year_end=year_end,
            )
            if error:
                value_errors[(local_field, clever_value)] = error
            elif stored is not None:
                store[clever_value] = stored
    if field_errors or value_errors:
        raise CodesError(value_errors=value_errors, field_errors=field_errors)
    before = saved_codes(district=district, data_type=data_type)
    with transaction.atomic():
        derived_changed = False
        for local_field, values in to_store.items():
            derived_changed |= _codes_store(
                district=district, data_type=data_type, local_field=local_field, values=values
            )
            # The trail shows class years as the admin chose them (not the stored offsets).
            shown = codes_for_year({local_field: values}, school_year_end=year_end)[local_field]
            audit_changes(
                district=district,
                actor=actor,
                action=f"clever.{data_type}.codes.saved",
                obj=district,
                before={
                    code_audit_key(local_field, v): c
                    for v, c in before.get(local_field, {}).items()
                },
                after={code_audit_key(local_field, v): c for v, c in shown.items()},
            )
        if derived_changed:
            derived_recompute_request(district=district, data_type=data_type)


def _codes_store(
    *, district: District, data_type: str, local_field: str, values: Mapping[str, str]
) -> bool:
    """Write one field's codes (rows created or changed); True when a derived field's code
    changed (the next import then recomputes it for everyone)."""
    existing = {
        r.clever_value: r
        for r in for_district(CodeDefinition, district).filter(
            data_type=data_type, local_field=local_field
        )
    }
    derived_changed = False
    for clever_value, local_code in values.items():
        row = existing.get(clever_value)
        if local_field in DERIVED_CODE_FIELDS and (row is None or row.local_code != local_code):
            derived_changed = True
        if row is None:
            CodeDefinition.objects.create(
                district=district,
                data_type=data_type,
                local_field=local_field,
                clever_value=clever_value,
                local_code=local_code,
            )
        elif row.local_code != local_code:
            row.local_code = local_code
            row.save(update_fields=["local_code"])
    return derived_changed


def derived_recompute_request(*, district: District, data_type: str) -> None:
    """The next import recomputes derived fields (class years) for every record, not only for
    records whose source field changed (``SyncConfig.recompute_derived``)."""
    SyncSettings.objects.filter(district=district, data_type=data_type).update(
        recompute_derived=True
    )


def sync_settings_save(
    *,
    district: District,
    actor: Any = None,
    data_type: str,
    scope: str,
    school_ids: Iterable[int] = (),
    frequency: str,
    import_rule: str,
    threshold_pct: Decimal | float | str,
    limits: dict[str, Any] | None = None,
) -> SyncSettings:
    """Save Sync Settings. Specific schools must be matched schools of this district.

    ``limits``: the limits per operation (``LIMIT_FIELDS``; None = off, except the source
    check's, which always has one); not given = unchanged. None of them, nor the inactivation
    threshold, may be below the floor support set for the district (a message names it)."""
    check_data_type(data_type)
    threshold, limits, wanted = _sync_settings_checked(
        district=district,
        data_type=data_type,
        scope=scope,
        school_ids=school_ids,
        frequency=frequency,
        import_rule=import_rule,
        threshold_pct=threshold_pct,
        limits=limits,
    )
    with transaction.atomic():
        saved = (
            SyncSettings.objects.select_for_update()
            .filter(district=district, data_type=data_type)
            .first()
        )
        before: dict[str, Any] = {}
        if saved is not None:
            before = _settings_audited(
                saved,
                schools=sorted(saved.schools.values_list("name", flat=True)),
                with_limits=limits is not None,
            )
        row = saved or SyncSettings(district=district, data_type=data_type)
        row.scope = scope
        for name, value in (limits or {}).items():
            if name in LIMIT_FIELDS:
                setattr(row, name, value)
        if row.enabled and row.frequency != frequency:
            # Manual only: nothing is due (first_run_at gives None). Another frequency: the
            # next run counted from now.
            row.next_run_at = first_run_at(
                frequency=frequency,
                daily_at=row.daily_at,
                tz=district.time_zone,
                now=timezone.now(),
            )
        row.frequency = frequency
        row.import_rule = import_rule
        row.inactivation_threshold_pct = threshold
        row.save()
        chosen = (
            list(for_district(School, district).filter(pk__in=wanted))
            if scope == SyncSettings.Scope.SPECIFIC
            else []
        )
        row.schools.set(chosen)
        audit_changes(
            district=district,
            actor=actor,
            action=f"clever.{data_type}.settings.saved",
            obj=row,
            before=before,
            after=_settings_audited(
                row, schools=sorted(s.name for s in chosen), with_limits=limits is not None
            ),
        )
    return row


def _sync_settings_checked(
    *,
    district: District,
    data_type: str,
    scope: str,
    school_ids: Iterable[int],
    frequency: str,
    import_rule: str,
    threshold_pct: Decimal | float | str,
    limits: dict[str, Any] | None,
) -> tuple[Decimal, dict[str, Any] | None, set[int]]:
    """Sync Settings checked: (the threshold, the limits normalized, the chosen school ids), or
    a :class:`ConfigError` naming every setting that is wrong."""
    errors: dict[str, str] = {}
    if scope not in SyncSettings.Scope.values:
        errors["scope"] = "Choose All Mapped Schools or Specify Schools."
    if frequency not in SyncSettings.Frequency.values:
        errors["frequency"] = "Choose a data update frequency."
    if import_rule not in SyncSettings.ImportRule.values:
        errors["import_rule"] = "Choose an import rule."
    try:
        threshold = Decimal(str(threshold_pct))
        if not (Decimal(0) < threshold <= Decimal(100)):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["threshold_pct"] = "Enter a percentage above 0 and at most 100."
        threshold = Decimal(0)
    if limits is not None:
        limits = limits_normalized(limits)
    current = SyncSettings.objects.filter(district=district, data_type=data_type).first()
    errors.update(
        limit_errors(
            current, threshold=threshold if "threshold_pct" not in errors else None, limits=limits
        )
    )
    wanted = {int(s) for s in school_ids}
    matched = set(
        for_district(SchoolMatch, district)
        .filter(clever_school__isnull=False)
        .values_list("school_id", flat=True)
    )
    if scope == SyncSettings.Scope.SPECIFIC:
        if not wanted:
            errors["schools"] = "Choose at least one school, or choose All Mapped Schools."
        elif wanted - matched:
            errors["schools"] = "Only schools matched to a Clever school can be chosen."
    if errors:
        raise ConfigError("Some settings need your attention.", errors=errors)
    return threshold, limits, wanted


def _settings_audited(
    row: SyncSettings, *, schools: list[str], with_limits: bool
) -> dict[str, Any]:
    """What the audit trail shows of Sync Settings (the limits when they were given)."""
    return {
        "scope": row.scope,
        "schools": schools,
        "frequency": row.frequency,
        "import_rule": row.import_rule,
        "threshold_pct": row.inactivation_threshold_pct,
        **{name: getattr(row, name) for name in LIMIT_FIELDS if with_limits},
    }


def recipients_add(
    *, district: District, actor: Any = None, data_type: str, text: str
) -> RecipientsAdded:
    """Add the addresses in ``text`` (comma-separated) to the data type's recipients, as the
    guide's "Add Email Recipients" field says; the recipients already listed stay (one is
    removed with :func:`recipient_delete`). Any invalid address: nothing is added, and the error
    names each bad one."""
    check_data_type(data_type)
    emails, errors = parse_recipients(text)
    if errors:
        raise ConfigError(" ".join(errors), errors={"recipients": " ".join(errors)})
    if not emails:
        message = "Enter the email address of a recipient to add."
        raise ConfigError(message, errors={"recipients": message})
    with transaction.atomic():
        rows = for_district(NotificationRecipient, district).filter(data_type=data_type)
        current = list(rows.values_list("email", flat=True))
        known = {e.lower() for e in current}
        added = [e for e in emails if e.lower() not in known]
        already = [e for e in emails if e.lower() in known]
        for email in added:
            NotificationRecipient.objects.get_or_create(
                district=district, data_type=data_type, email=email
            )
        if added:
            audit_record(
                district=district,
                actor=actor,
                action=f"clever.{data_type}.recipients.added",
                obj=district,
                field="recipients",
                old=sorted(current),
                new=sorted(current + added),
            )
    return RecipientsAdded(added=added, already=already)


def recipient_delete(*, district: District, actor: Any = None, recipient_id: int) -> None:
    row = for_district(NotificationRecipient, district).get(pk=recipient_id)
    row.delete()
    audit_record(
        district=district,
        actor=actor,
        action=f"clever.{row.data_type}.recipients.removed",
        obj=district,
        field="recipients",
        old=row.email,
        new="",
    )
