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

    def handle(self, *args, **opts):
        try:
            district = District.objects.get(slug=opts["district"])
        except District.DoesNotExist:
            raise CommandError(f"No district with slug {opts['district']!r}.") from None
        wanted = ["students", "staff"] if opts["integration"] == "both" else [opts["integration"]]
        for integration in wanted:
            district = services.district_enable_clever(district=district, integration=integration)
        self.stdout.write(
            f"{district.name}: Clever {', '.join(wanted)} enabled; launch date {district.launch_date}."
        )
