"""``manage.py clever_fake_district``: write a realistic, seeded Clever district dataset file."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.simulator.generator import generate_district, write_dataset


class Command(BaseCommand):
    help = (
        "Write a fake Clever district (schools, students, teachers, staff, sections) as a "
        "simulator dataset file. Same seed, same file, byte for byte."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students", type=int, required=True, help="number of students")
        parser.add_argument(
            "--staff",
            type=int,
            required=True,
            help="number of employees (about 65%% teachers, 30%% school staff, a few admins)",
        )
        parser.add_argument("--schools", type=int, required=True, help="number of schools (≥ 1)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument("--out", required=True, help="output file (JSON)")
        parser.add_argument(
            "--district-name", default=None, help="district name (default: made up)"
        )
        parser.add_argument("--district-id", default=None, help="Clever district id (24 hex)")

    def handle(self, *args: object, **options: object) -> None:
        students, staff, schools = options["students"], options["staff"], options["schools"]
        if not isinstance(students, int) or students < 0:
            raise CommandError("--students must be 0 or more")
        if not isinstance(staff, int) or staff < 0:
            raise CommandError("--staff must be 0 or more")
        if not isinstance(schools, int) or schools < 1:
            raise CommandError("--schools must be at least 1")
        district_id = options["district_id"]
        if district_id is not None and (
            len(str(district_id)) != 24
            or any(c not in "0123456789abcdef" for c in str(district_id))
        ):
            raise CommandError("--district-id must be 24 lowercase hex characters")
        started = time.perf_counter()
        data = generate_district(
            students=students,
            staff=staff,
            schools=schools,
            seed=int(options["seed"]),  # type: ignore[arg-type]
            district_id=district_id,  # type: ignore[arg-type]
            district_name=options["district_name"],  # type: ignore[arg-type]
        )
        try:
            size = write_dataset(data, str(options["out"]))
        except OSError as exc:
            raise CommandError(f"could not write {options['out']}: {exc.strerror}") from None
        elapsed = time.perf_counter() - started
        district = data["districts"][0]
        self.stdout.write(
            f"Wrote {options['out']} ({size / 1e6:.1f} MB) in {elapsed:.1f} s: district "
            f"{district['name']} ({district['id']}), {len(data['schools'])} schools, "
            f"{len(data['users'])} users, {len(data['sections'])} sections."
        )
        self.stdout.write(f"Token for {district['id']}: {data['tokens'][district['id']]}")
