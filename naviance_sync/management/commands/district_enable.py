"""Support staff from the command line: enable Clever for a district (as the admin action does)."""

from __future__ import annotations

from django.core.management import BaseCommand, CommandError

from naviance_sync import services
from naviance_sync.models import District


class Command(BaseCommand):
    help = "Enable the Clever student integration and/or staff application for a district."

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, help="district slug")
        parser.add_argument("--integration", choices=["students", "staff", "both"], default="both")
        parser.add_argument(
            "--clever-district",
            default="",
            help="The Clever district ID confirmed with the district: its admins can connect "
            "only this one.",
        )

    def handle(self, *args, **opts):
        try:
            district = District.objects.get(slug=opts["district"])
        except District.DoesNotExist:
            raise CommandError(f"No district with slug {opts['district']!r}.") from None
        wanted = ["students", "staff"] if opts["integration"] == "both" else [opts["integration"]]
        try:
            for integration in wanted:
                district = services.district_enable_clever(
                    district=district,
                    integration=integration,
                    clever_district_id=opts["clever_district"],
                )
        except services.LaunchDateError as exc:
            raise CommandError(str(exc)) from None
        confirmed = district.confirmed_clever_district_id
        self.stdout.write(
            f"{district.name}: Clever {', '.join(wanted)} enabled; launch date {district.launch_date}"
            + (f"; Clever district {confirmed} confirmed." if confirmed else ".")
        )
