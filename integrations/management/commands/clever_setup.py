"""Connect a district to Clever the way an admin who accepts every suggestion would.

    python manage.py clever_setup --district SLUG [--name NAME] --clever-district ID \
        [--token TOKEN] [--api-url URL] --accept-suggestions [--create-missing-schools]

Without ``--token`` the district's token is fetched with the application's client credentials
(``CLEVER_CLIENT_ID`` / ``CLEVER_CLIENT_SECRET``, asking ``CLEVER_OAUTH_URL``, or ``--api-url``
when given: the simulator serves both), as a Clever application does. ``--token`` is support's
way in (self-hosting without application credentials): it is recorded in the audit log.

Support's command: connecting confirms the Clever district id for the district (unless support
confirmed another one already); a Clever district connected to another district is refused.

Uses the same services as the configuration pages (so the audit trail shows the same events).
Safe to run again: saved choices are kept, only what is missing is filled in.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integrations.clever import CleverError
from integrations.config.clever_reads import available_clever_fields, clever_values
from integrations.config.connection import connection_connect
from integrations.config.rules import ConfigError, coded_field_paths
from integrations.config.selectors import (
    district_school_year_end,
    integration_config,
    mapping_choices_or_suggested,
    saved_codes,
)
from integrations.config.services import codes_save, field_mappings_save, sync_settings_save
from integrations.crypto import TokenDecryptError
from integrations.models import SyncSettings
from integrations.schools import (
    SchoolMatchError,
    school_match_summary,
    school_matches_accept_suggestions,
    schools_create_for_unmatched,
)
from naviance_sync import services
from naviance_sync.models import District
from students import fields as student_fields


class Command(BaseCommand):
    help = "Connect a district to Clever and accept the suggested school matches, fields and codes."

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, help="The district's slug.")
        parser.add_argument("--name", help="Create the district with this name if it is new.")
        parser.add_argument("--clever-district", required=True, help="The Clever district id.")
        parser.add_argument(
            "--token",
            default="",
            help="Set the district's bearer token by hand (support; default: fetch it from "
            "Clever with the application's credentials).",
        )
        parser.add_argument(
            "--api-url",
            default=None,
            help="Clever API address, also asked for the district's token (default: the stored "
            "one, else CLEVER_API_URL and CLEVER_OAUTH_URL).",
        )
        parser.add_argument(
            "--accept-suggestions",
            action="store_true",
            help="Save the suggested school matches, field matches, codes and sync settings.",
        )
        parser.add_argument(
            "--create-missing-schools",
            action="store_true",
            help="Create a local school for each Clever school that matches none.",
        )

    def handle(self, *args, **opts):
        district = self._district(opts["district"], opts.get("name"))
        try:
            connection = connection_connect(
                district=district,
                clever_district_id=opts["clever_district"],
                token=opts["token"] or "",
                api_url=opts["api_url"],
                by_support=True,  # support's command: it confirms the Clever district id
            )
        except CleverError as exc:
            raise CommandError(f"Could not connect to Clever: {exc.admin_message}") from exc
        except ConfigError as exc:
            raise CommandError(exc.message) from exc
        except TokenDecryptError as exc:
            raise CommandError(exc.admin_message) from exc
        self._say(
            f"Connected {district.slug} to Clever district "
            f"{connection.clever_district_name or connection.clever_district_id}."
        )
        try:
            if opts["accept_suggestions"] or opts["create_missing_schools"]:
                matched = school_matches_accept_suggestions(district=district)
                self._say(f"School matches saved: {len(matched)}.")
            if opts["create_missing_schools"]:
                created = schools_create_for_unmatched(district=district)
                self._say(f"Local schools created for unmatched Clever schools: {len(created)}.")
            if opts["accept_suggestions"]:
                self._accept_fields_codes_settings(district)
        except SchoolMatchError as exc:
            raise CommandError(f"{exc.message} {' '.join(exc.errors.values())}".strip()) from exc
        except ConfigError as exc:
            # Name every field and value that needs attention, not only "some need attention".
            details = [m for m in exc.errors.values() if m not in exc.message]
            raise CommandError(" ".join([exc.message, *details])) from exc
        except TokenDecryptError as exc:
            raise CommandError(getattr(exc, "message", None) or str(exc)) from exc
        counts = school_match_summary(district=district)
        self._say(
            f"Done: {counts['matched']} of {counts['schools']} local schools matched to "
            f"{counts['clever_schools']} Clever schools."
        )

    def _district(self, slug: str, name: str | None) -> District:
        district = District.objects.filter(slug=slug).first()
        if district is None:
            if not name:
                raise CommandError(
                    f'No district "{slug}". Pass --name to create it (support onboarding).'
                )
            district = services.district_create(slug=slug, name=name)
            district = services.district_enable_clever(district=district, integration="students")
            self._say(f"Created district {name} ({slug}) with the Clever student integration on.")
        elif not district.clever_students_enabled:
            self.stderr.write(
                f"Note: the Clever student integration is not enabled for {slug}; its admins "
                "will not see the pages until support enables it."
            )
        return district

    def _accept_fields_codes_settings(self, district: District) -> None:
        data_type = "students"
        sample = available_clever_fields(
            district=district, data_type=data_type, refresh=True, deadline=None
        )
        if sample.error:
            raise CommandError(f"Could not read the district's Clever fields: {sample.error}")
        suggested = student_fields.suggest_mapping(list(sample.fields))
        saved, is_saved = mapping_choices_or_suggested(
            district=district, data_type=data_type, available=sample.fields
        )
        mapping = {**suggested, **(saved if is_saved else {})}
        field_mappings_save(district=district, data_type=data_type, mapping=mapping)
        self._say(
            "Field matches saved: "
            f"{sum(1 for v in mapping.values() if v)} of {len(mapping)} fields imported."
        )

        paths = coded_field_paths(mapping, data_type=data_type)
        found, error = clever_values(
            district=district,
            data_type=data_type,
            paths=list(paths.values()),
            deadline=None,  # the scan that listed the fields above is cached
        )
        if error:
            raise CommandError(f"Could not read the district's Clever values: {error}")
        stored = saved_codes(district=district, data_type=data_type)
        year_end = district_school_year_end(district)
        codes = {}
        for field_name, path in paths.items():
            values = found.get(path, [])
            defaults = student_fields.default_codes(field_name, values, school_year_end=year_end)
            codes[field_name] = {**defaults, **stored.get(field_name, {})}
        codes_save(district=district, data_type=data_type, codes=codes)
        self._say(
            "Codes saved: "
            + ", ".join(f"{name} {len(values)} values" for name, values in codes.items())
            + "."
        )

        current = integration_config(district=district, data_type=data_type).settings
        if not current.saved:
            sync_settings_save(
                district=district,
                data_type=data_type,
                scope=SyncSettings.Scope.ALL,
                frequency=SyncSettings.Frequency.DAILY,
                import_rule=SyncSettings.ImportRule.CREATE_UPDATE,
                threshold_pct=current.threshold_pct,
            )
            self._say("Sync settings saved: all mapped schools, daily, create and update.")

    def _say(self, text: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(text)

    def execute(self, *args, **options):
        self.verbosity = options.get("verbosity", 1)
        return super().execute(*args, **options)
