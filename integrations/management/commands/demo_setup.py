"""Load the demo: two districts on the bundled Clever simulator, their admins and a support user.

*Maple Valley Unified* runs: connected, every suggestion accepted. *Cedar Ridge School District*
is where a newcomer follows the guide from its first step: support enabled Clever (launch date
set, Clever district ID confirmed) and nothing else; its admin connects, matches schools and
fields, and so on. Idempotent: running it again keeps what exists. Used by bin/demo.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, call_command
from django.db import transaction

from integrations.simulator.generator import generate_district
from naviance_sync import services
from naviance_sync.models import District, School
from staff.models import Role

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed for the demo, never used elsewhere
SUPPORT_PASSWORD = "support-password-2026"  # noqa: S105
CEDAR_PASSWORD = "cedar-password-2026"  # noqa: S105
CEDAR = {
    "slug": "cedar-ridge",
    "name": "Cedar Ridge School District",
    "clever_name": "Cedar Ridge School District",
    "clever_id": "5c3d7a0e9b1f4e2a8c6d0b17",
    "time_zone": "America/Denver",
}
KINDS = ("districts", "schools", "users", "sections", "terms")


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
        self._add_cedar_ridge(data_path, seed=opts["seed"])
        if opts["dataset_only"]:
            return
        dataset = json.loads(data_path.read_text())
        with transaction.atomic():
            district = self._district(dataset)
            cedar = self._cedar_ridge(dataset)
        self._connect(district, dataset, opts["api_url"])
        self.stdout.write(self.style.SUCCESS(f"Demo district ready: {district.name}"))
        self.stdout.write(
            self.style.SUCCESS(f"Demo district ready to set up from the first step: {cedar.name}")
        )

    def _add_cedar_ridge(self, data_path: Path, *, seed: int) -> None:
        """Add Cedar Ridge's Clever district to the dataset (once; a dataset written by an earlier
        demo gets it too)."""
        data = json.loads(data_path.read_text())
        if any(d.get("id") == CEDAR["clever_id"] for d in data.get("districts", [])):
            return
        cedar = generate_district(
            students=300,
            staff=30,
            schools=3,
            seed=seed + 1,
            district_id=CEDAR["clever_id"],
            district_name=CEDAR["clever_name"],
        )
        for kind in KINDS:
            data[kind] = list(data.get(kind) or []) + list(cedar.get(kind) or [])
        data["tokens"] = {**(data.get("tokens") or {}), **cedar["tokens"]}
        data_path.write_text(json.dumps(data))

    def _cedar_ridge(self, dataset) -> District:
        """Support's part only: Clever enabled (launch date four weeks out), the Clever district
        ID confirmed; the district's schools as its Naviance site has them; one district admin."""
        User = get_user_model()
        district, _ = District.objects.get_or_create(
            slug=CEDAR["slug"],
            defaults={"name": CEDAR["name"], "time_zone": CEDAR["time_zone"]},
        )
        for integration in ("students", "staff"):
            services.district_enable_clever(district=district, integration=integration)
        if not district.confirmed_clever_district_id:
            district = services.district_clever_id_confirm(
                district=district, clever_district_id=CEDAR["clever_id"]
            )
        clever_schools = [
            s for s in dataset.get("schools", []) if s.get("district") == CEDAR["clever_id"]
        ]
        for i, s in enumerate(clever_schools):
            name = s["name"].replace("School", "Sch.") if i % 2 else s["name"]
            School.objects.get_or_create(
                district=district,
                name=name,
                defaults={"nces_id": (s.get("nces_id") or "") if i != 1 else ""},
            )
        admin_role, _ = Role.objects.get_or_create(
            district=district,
            name="District Administrator",
            defaults={"can_import_district_data": True},
        )
        if not User.objects.filter(username="cedar-admin").exists():
            User.objects.create_user(
                username="cedar-admin",
                password=CEDAR_PASSWORD,
                email="cedar-admin@cedarridge.example.org",
                first_name="Morgan",
                last_name="Lee",
                district=district,
                role=admin_role,
                account_type="district",
            )
        return district

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
        maple_id = (dataset.get("districts") or [{}])[0].get("id")
        maple_schools = [s for s in dataset.get("schools", []) if s.get("district") == maple_id]
        for i, s in enumerate(maple_schools):
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
