"""Load the demo: a district wired to the bundled Clever simulator, its admin and a support user.

Idempotent: running it again keeps what exists. Used by bin/demo.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, call_command
from django.db import transaction

from naviance_sync import services
from naviance_sync.models import District, School
from staff.models import Role

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed for the demo, never used elsewhere
SUPPORT_PASSWORD = "support-password-2026"  # noqa: S105


class Command(BaseCommand):
    help = "Create the demo district, its admin, a support-staff user and a Clever dataset."

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=1200)
        parser.add_argument("--staff", type=int, default=120)
        parser.add_argument("--schools", type=int, default=4)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--data", default=str(Path(settings.VAR_DIR) / "demo" / "clever.json"))
        parser.add_argument("--api-url", default="http://127.0.0.1:8765")
        parser.add_argument(
            "--dataset-only",
            action="store_true",
            help="Only write the Clever dataset (the simulator must serve it before connecting).",
        )

    def handle(self, *args, **opts):
        data_path = Path(opts["data"])
        data_path.parent.mkdir(parents=True, exist_ok=True)
        if not data_path.exists():
            call_command(
                "clever_fake_district",
                students=opts["students"],
                staff=opts["staff"],
                schools=opts["schools"],
                seed=opts["seed"],
                out=str(data_path),
                district_name="Maple Valley Unified",
            )
        if opts["dataset_only"]:
            return
        dataset = json.loads(data_path.read_text())
        with transaction.atomic():
            district = self._district(dataset)
        self._connect(district, dataset, opts["api_url"])
        self.stdout.write(self.style.SUCCESS(f"Demo district ready: {district.name}"))

    def _district(self, dataset) -> District:
        User = get_user_model()
        district, _ = District.objects.get_or_create(
            slug="maple-valley",
            defaults={"name": "Maple Valley Unified", "time_zone": "America/Chicago"},
        )
        for integration in ("students", "staff"):
            services.district_enable_clever(district=district, integration=integration)
        # Local schools as a district keeps them: names written a little differently from Clever's,
        # and one school that Clever does not have.
        for i, s in enumerate(dataset.get("schools", [])):
            name = s["name"].replace("High School", "HS") if i % 2 else s["name"]
            School.objects.get_or_create(
                district=district,
                name=name,
                defaults={
                    "nces_id": (s.get("nces_id") or "") if i % 3 != 2 else "",
                    "city": (s.get("location") or {}).get("city") or "",
                },
            )
        School.objects.get_or_create(district=district, name="Maple Valley Online Academy")
        admin_role, _ = Role.objects.get_or_create(
            district=district,
            name="District Administrator",
            defaults={"can_import_district_data": True},
        )
        Role.objects.get_or_create(district=district, name="Counselor")
        if not User.objects.filter(username="demo-admin").exists():
            User.objects.create_user(
                username="demo-admin",
                password=DEMO_PASSWORD,
                email="demo-admin@maplevalley.example.org",
                first_name="Dana",
                last_name="Rivera",
                district=district,
                role=admin_role,
                account_type="district",
            )
        if not User.objects.filter(username="support").exists():
            User.objects.create_superuser(
                username="support", password=SUPPORT_PASSWORD, email="support@example.org"
            )
            self.stdout.write(
                "Support user 'support' created. Django admin asks it to set up an authenticator "
                "app at the first visit (the page shows a QR code and the key; "
                "`oathtool --totp -b KEY` gives codes from that key too)."
            )
        return district

    def _connect(self, district: District, dataset, api_url: str) -> None:
        """Connect the demo district to the simulator the way a district admin does: by its
        Clever district ID only (the token is fetched with the application's credentials)."""
        districts = dataset.get("districts") or []
        clever_district_id = districts[0].get("id", "") if districts else ""
        if not clever_district_id:
            return
        try:
            call_command(
                "clever_setup",
                district="maple-valley",
                clever_district=clever_district_id,
                api_url=api_url,
                accept_suggestions=True,
                verbosity=0,
            )
        except Exception as exc:  # noqa: BLE001 - the demo still starts; the admin can connect by hand
            self.stderr.write(f"Could not connect the demo district to the simulator yet: {exc}")
