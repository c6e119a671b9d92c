"""The monitoring profile, checked without Docker: Prometheus' scrape config and alert rules,
Grafana's provisioned dashboard, and that each metric they read is one the service exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from complaints.api.gauges import Scan
from complaints.api.metrics import RequestMetrics
from complaints.infra.metrics import COUNTERS
from tests.test_deployment import SERVICES

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
ALERTS = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
PROMETHEUS = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
DASHBOARD = json.loads((DEPLOY / "grafana" / "complaintflow.json").read_text(encoding="utf-8"))
RULES = {rule["alert"]: rule for group in ALERTS["groups"] for rule in group["rules"]}
METRIC = re.compile(r"\b((?:complaints|temporal)_[a-z0-9_]+)")


def expressions() -> list[str]:
    return [rule["expr"] for rule in RULES.values()] + [
        target["expr"] for panel in DASHBOARD["panels"] for target in panel["targets"]]


def referenced(prefix: str) -> set[str]:
    """The metric names the rules and the dashboard read, without histogram suffixes."""
    names = {name for expr in expressions() for name in METRIC.findall(expr) if name.startswith(prefix)}
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in names}


def exported_by_the_service() -> set[str]:
    registry = CollectorRegistry()
    RequestMetrics(app=None, registry=registry)  # type: ignore[arg-type]
    Scan(registry, warning_at=0.8)
    names = {f"{name}_total" for name in COUNTERS}
    for family in registry.collect():
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names


def test_the_alert_rules_are_the_issues_and_each_says_what_to_do() -> None:
    assert set(RULES) == {"ComplaintDeadlineBreached", "EmergencyCaseUnacknowledged", "DeliveriesFailing",
                          "NoWorkerPolling", "UndecryptableInput", "ScheduleToStartSlow"}
    for name, rule in RULES.items():
        assert rule["labels"]["severity"] in {"page", "warning"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
    assert "3600" in RULES["EmergencyCaseUnacknowledged"]["expr"]
    assert "0.99" in RULES["ScheduleToStartSlow"]["expr"] and "> 5" in RULES["ScheduleToStartSlow"]["expr"]


def test_promtool_accepts_the_rules_when_it_is_installed() -> None:
    promtool = shutil.which("promtool")
    if promtool:  # not on every machine; the static checks here run everywhere
        done = subprocess.run([promtool, "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_complaints_metric_the_rules_and_the_dashboard_read_is_exported() -> None:
    missing = referenced("complaints_") - exported_by_the_service()
    assert not missing, f"read but never exported: {sorted(missing)}"


def test_the_dashboard_has_the_issues_panels_on_the_provisioned_datasource() -> None:
    titles = {panel["title"] for panel in DASHBOARD["panels"]}
    assert titles == {"Intake per hour", "Open by stage", "Breaches and warnings today",
                      "Emergency cases open and time to acknowledge", "Update latency p50 / p99",
                      "Schedule-to-start latency p99", "Delivery failures", "Worker slots in use"}
    source = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text(encoding="utf-8"))
    uid = source["datasources"][0]["uid"]
    assert all(panel["datasource"]["uid"] == uid and panel["targets"] for panel in DASHBOARD["panels"])
    assert source["datasources"][0]["url"] == "http://prometheus:9090"


def test_the_monitoring_profile_runs_prometheus_and_grafana_on_the_deploy_files() -> None:
    profiled = {name for name, service in SERVICES.items() if "monitoring" in service.get("profiles", [])}
    assert profiled == {"prometheus", "grafana"}
    for name in profiled:
        for volume in SERVICES[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
    assert "./deploy/prometheus:/etc/prometheus:ro" in SERVICES["prometheus"]["volumes"]
    assert PROMETHEUS["rule_files"] == ["/etc/prometheus/alerts.yml"]
    assert SERVICES["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")


def test_prometheus_scrapes_every_worker_the_api_and_temporal_where_they_serve() -> None:
    jobs = {job["job_name"]: job for job in PROMETHEUS["scrape_configs"]}
    env = SERVICES["worker"]["environment"]
    worker_port = int(re.search(r":(\d+)\}?$", env["COMPLAINTS_METRICS_ADDRESS"]).group(1))
    found = jobs["complaintflow-worker"]["dns_sd_configs"][0]
    assert found["names"] == ["worker"] and found["port"] == worker_port  # every `--scale worker=N` replica
    api_port = re.search(r":-(\d+)\}", env["COMPLAINTS_API_PORT"]).group(1)
    assert jobs["complaintflow-api"]["static_configs"][0]["targets"] == [f"api:{api_port}"]
    temporal_port = SERVICES["temporal"]["environment"]["PROMETHEUS_ENDPOINT"].rsplit(":", 1)[1]
    assert jobs["temporal"]["static_configs"][0]["targets"] == [f"temporal:{temporal_port}"]
