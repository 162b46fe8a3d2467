"""The production files in deploy/ and docker-compose.yml: valid, and consistent with the code.

`docker compose config` needs the compose plugin (absent here, and images cannot be pulled):
the compose file is checked as YAML for the shape the guide describes instead.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.metrics import Metrics
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_has_the_production_services_with_health_checks_and_restart_policies() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", "rasa", "gateway", "scheduler", "haproxy"} <= set(services)
    for name in ("postgres", "redis", "rasa", "gateway", "scheduler", "haproxy"):
        assert "healthcheck" in services[name], name
        assert services[name].get("restart") == "unless-stopped", name
    assert services["gateway"]["deploy"]["replicas"] >= 2 and services["rasa"]["deploy"]["replicas"] >= 2
    env = services["gateway"]["environment"]
    assert env["PUSTAKABOT_REDIS_URL"].startswith("redis://redis")
    assert env["PUSTAKABOT_DATABASE_URL"].startswith("postgresql://")
    assert env["PUSTAKABOT_RASA_URL"] == "http://haproxy:5005"
    assert env["PUSTAKABOT_LOAD_DEMO"] == "false"
    # no demo data in production: nothing runs `demo load`
    assert "demo" not in json.dumps(services)
    assert "catalog sync --every" in " ".join(services["scheduler"]["command"])
    # every PUSTAKABOT_ variable the compose file sets is a real setting
    names = {f"PUSTAKABOT_{n.upper()}" for n in Settings.model_fields}
    assert set(env) - names == set()


def test_the_rasa_image_is_trained_with_the_catalog_lookup_tables() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    rasa = dockerfile[dockerfile.index("AS rasa"):]
    assert "COPY --from=lookups /lookups/ nlu/data/generated/" in rasa
    assert rasa.index("nlu/data/generated/") < rasa.index("rasa train nlu")
    assert "pustakabot lookups --out /lookups" in dockerfile


@pytest.mark.skipif(shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
                    reason="HAProxy is not installed (scripts/setup.sh --haproxy)")
def test_haproxy_config_is_valid() -> None:
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    result = subprocess.run([binary, "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _metric_names() -> set[str]:
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "histogram":
            names.update(f"{family.name}_{s}" for s in ("bucket", "count", "sum"))
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def test_alerts_and_dashboard_use_only_metrics_the_gateway_exports() -> None:
    known = _metric_names() | {"up"}
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((DEPLOY / "grafana" / "pustakabot-dashboard.json").read_text(encoding="utf-8"))
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(exprs) >= 10
    for expr in exprs:
        used = set(re.findall(r"\b(pustakabot_[a-z_]+|up)\b", expr))
        assert used and used <= known, (expr, used - known)
