"""The example Prometheus in docker-compose.yml (docker is not run here: the YAML is parsed)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_prometheus_with_the_repos_config_and_the_token_as_a_secret():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    prom = compose["services"]["prometheus"]
    assert "./prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prom["volumes"]
    assert prom["secrets"] == ["metrics_token"]
    assert compose["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}
    assert "promdata" in compose["volumes"]
    web = compose["services"]["web"]
    assert "8000" in " ".join(web["command"])


def test_prometheus_scrapes_the_portals_metrics_with_the_bearer_token():
    config = yaml.safe_load((ROOT / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"] == [{"targets": ["web:8000"]}]
    assert job["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/run/secrets/metrics_token",
    }
