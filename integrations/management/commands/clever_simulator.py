"""``manage.py clever_simulator``: serve a dataset as the Clever API until interrupted."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.simulator import Dataset, Faults, SimulatorServer
from integrations.simulator.control import apply_operations


class Command(BaseCommand):
    help = (
        "Serve a Clever simulator dataset (see clever_fake_district) as Clever's v3.0 Data, "
        "Events and OAuth API, with optional faults. Change data while it runs with "
        "POST /_sim/mutate, or change faults with POST /_sim/faults."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", required=True, help="dataset file (JSON)")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--mutate",
            action="append",
            default=[],
            metavar="FILE",
            help="apply the operations in FILE (JSON, as for POST /_sim/mutate) before serving",
        )
        parser.add_argument(
            "--rate-limit-every", type=int, default=0, help="every Nth request gets 429"
        )
        parser.add_argument(
            "--rate-limit-reset", type=float, default=2.0, help="seconds until X-RateLimit-Reset"
        )
        parser.add_argument(
            "--rate-limit-per-minute",
            type=int,
            default=0,
            help="real per-token limit (Clever: 1200)",
        )
        parser.add_argument(
            "--error-rate", type=float, default=0.0, help="share of requests answered 500/502/503"
        )
        parser.add_argument("--latency-ms", type=int, default=0, help="added to every request")
        parser.add_argument("--timeout-every", type=int, default=0, help="every Nth request stalls")
        parser.add_argument(
            "--timeout-seconds", type=float, default=2.0, help="how long a stall lasts"
        )
        parser.add_argument(
            "--reset-every", type=int, default=0, help="every Nth connection dropped"
        )
        parser.add_argument(
            "--truncate-every", type=int, default=0, help="every Nth list page cut off"
        )
        parser.add_argument(
            "--html-every", type=int, default=0, help="every Nth request gets an HTML page"
        )
        parser.add_argument(
            "--revoke-token-after", type=int, default=None, help="401 after N requests"
        )
        parser.add_argument(
            "--rotate-token-after",
            type=int,
            default=None,
            help="rotate each district's token once, after N requests with it (the old one 401s)",
        )
        parser.add_argument(
            "--malformed-users", type=int, default=0, help="malformed students to mix in"
        )
        parser.add_argument("--seed", type=int, default=0, help="seed for random faults")
        parser.add_argument("--verbose-requests", action="store_true", help="log every request")
        parser.add_argument(
            "--portal-url",
            default=None,
            help="the product's address: the simulator's home page then offers Instant Login "
            "links (a Clever portal's app icons) into it",
        )

    def handle(self, *args: object, **options: object) -> None:
        path = Path(str(options["data"]))
        if not path.exists():
            raise CommandError(f"{path} does not exist (create one with clever_fake_district)")
        try:
            dataset = Dataset.load(path)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for mutation_file in options["mutate"]:  # type: ignore[union-attr]
            try:
                payload = json.loads(Path(mutation_file).read_text(encoding="utf-8"))
                results = apply_operations(dataset, payload)
            except (OSError, ValueError) as exc:
                raise CommandError(f"{mutation_file}: {exc}") from None
            self.stdout.write(f"Applied {len(results)} operation(s) from {mutation_file}")
        faults = Faults(
            rate_limit_every=options["rate_limit_every"],  # type: ignore[arg-type]
            rate_limit_reset_seconds=options["rate_limit_reset"],  # type: ignore[arg-type]
            rate_limit_per_minute=options["rate_limit_per_minute"],  # type: ignore[arg-type]
            error_rate=options["error_rate"],  # type: ignore[arg-type]
            latency_ms=options["latency_ms"],  # type: ignore[arg-type]
            timeout_every=options["timeout_every"],  # type: ignore[arg-type]
            timeout_seconds=options["timeout_seconds"],  # type: ignore[arg-type]
            reset_every=options["reset_every"],  # type: ignore[arg-type]
            truncate_every=options["truncate_every"],  # type: ignore[arg-type]
            html_every=options["html_every"],  # type: ignore[arg-type]
            revoke_token_after=options["revoke_token_after"],  # type: ignore[arg-type]
            rotate_token_after=options["rotate_token_after"],  # type: ignore[arg-type]
            malformed_users=options["malformed_users"],  # type: ignore[arg-type]
            seed=options["seed"],  # type: ignore[arg-type]
        )
        server = SimulatorServer(
            dataset,
            faults,
            host=str(options["host"]),
            port=int(options["port"]),  # type: ignore[arg-type]
            quiet=not options["verbose_requests"],
            portal_url=options["portal_url"] or None,
        )
        dataset.warm()
        url = f"http://{options['host']}:{options['port']}"
        self.stdout.write(f"Clever simulator serving {path} at {url} (v3.0 at {url}/v3.0)")
        for district_id in dataset.district_ids():
            record = dataset.get("districts", district_id) or {}
            generated = " (generated)" if district_id in dataset.generated_tokens else ""
            token = dataset.tokens.get(district_id)
            shared = f"token {token}{generated}" if token else "not shared (no token)"
            self.stdout.write(f"  district {district_id} {record.get('name', '')!s}: {shared}")
        clients = ", ".join(f"{cid} / {secret}" for cid, secret in dataset.oauth_clients.items())
        self.stdout.write(f"  OAuth clients (id / secret): {clients}")
        if options["portal_url"]:
            self.stdout.write(
                f"  Clever portal (Instant Login into {options['portal_url']}): {url}/"
            )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        except OSError as exc:
            raise CommandError(f"could not serve on {url}: {exc.strerror}") from None
