"""Offline checks of the Grafana dashboard and the Prometheus rules.

Every PromQL expression in the dashboard must parse (promtool does the parsing: the
expressions are written as recording rules into a temporary file and checked with
`promtool check rules`), and every metric named in the dashboard or in the rules must
be in the contract (docs/architecture.md), be a recording rule, or be the one Pub/Sub
exporter metric. Run through scripts/check-monitoring.sh, which sets PROMTOOL.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "monitoring/grafana/dashboards/pipeline.json"
RULES = REPO / "monitoring/prometheus/rules.yml"
CONTRACT = REPO / "docs/architecture.md"
OBSERVABILITY = REPO / "docs/observability.md"
RUNBOOKS = REPO / "docs/runbooks"
TF_DASHBOARD = REPO / "terraform/modules/monitoring/dashboard.json"

# The only series not exposed by our services; docs/observability.md says why this name.
PUBSUB_EXPORTER_METRIC = (
    "stackdriver_pubsub_subscription_pubsub_googleapis_com_subscription_num_undelivered_messages"
)

# What Grafana puts in place of each variable, for parsing only. `$system` becomes a
# multi-value regex, as Grafana renders a multi-select.
SUBSTITUTIONS = {
    "system": "s1|s2",
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "6h",
}

# PromQL words that look like identifiers but are not metric names.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
    "and", "or", "unless", "atan2", "inf", "nan",
}

SEVERITIES = {"page", "ticket", "info"}


def promtool() -> str:
    path = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not path:
        pytest.fail("promtool not found: run scripts/check-monitoring.sh, which installs it")
    return path


def substitute(expr: str) -> str:
    """Replace Grafana variables ($name and ${name}) with test values."""

    def one(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in SUBSTITUTIONS:
            raise KeyError(f"unknown dashboard variable ${name} in: {expr}")
        return SUBSTITUTIONS[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, expr)


def metric_names(expr: str) -> set[str]:
    """Metric names selected by a PromQL expression.

    A small scanner, not a parser (promtool does the parsing): it drops strings, label
    matchers, ranges and by/on(...) lists, then takes identifiers that are not called
    like functions and are not keywords. Enough for the expressions in this repo; a
    `{__name__="..."}` selector would slip through, and none is used.
    """
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    s = re.sub(r"\boffset\s+\S+", " ", s)
    names = set()
    for match in re.finditer(r"(?<![\w:.])([A-Za-z_:][\w:]*)(\s*\()?", s):
        name, called = match.group(1), match.group(2)
        if called or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


def contract_metrics() -> set[str]:
    """Names from the metric table of docs/architecture.md, with histogram series."""
    text = CONTRACT.read_text()
    section = text.split("## Metric names", 1)[1].split("\n## ", 1)[0]
    names = set()
    for name, kind in re.findall(r"^\|\s*`([a-z_:]+)`\s*\|\s*([a-z]+)", section, re.M):
        names.add(name)
        if kind == "histogram":
            names.update(f"{name}_{suffix}" for suffix in ("bucket", "count", "sum"))
    return names


def load_rules() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def panels(dashboard: dict) -> list[dict]:
    """All panels, including those nested in collapsed rows."""
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def dashboard_exprs() -> list[tuple[str, str]]:
    """(where, expr) for every panel target and every query variable."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            exprs.append((f"panel {panel['id']} {panel['title']!r} {target['refId']}",
                          target["expr"]))
    for var in dashboard["templating"]["list"]:
        if var["type"] != "query":
            continue
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        # label_values(metric, label) is Grafana's, not PromQL: check the metric part.
        match = re.fullmatch(r"label_values\((.+),\s*\w+\)", query.strip())
        exprs.append((f"variable {var['name']}", match.group(1) if match else query))
    return exprs


def test_scanner_finds_metric_names_and_skips_the_rest():
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{le="0.5", x=~"y|z"}[5m])))'
        " / on (slo) group_left b:c:rate5m > bool 1e3 or vector(0) offset 1h"
    )
    assert metric_names(expr) == {"a_bucket", "b:c:rate5m"}


def test_dashboard_has_a_system_variable_used_by_its_panels():
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {var["name"]: var for var in dashboard["templating"]["list"]}
    assert variables["system"]["multi"] and variables["system"]["includeAll"]
    assert variables["datasource"]["type"] == "datasource"
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        # Fleet views ("Top N ...") rank every system on purpose; the rest follow $system.
        if panel["title"].startswith("Top "):
            continue
        for target in panel["targets"]:
            assert 'system=~"$system"' in target["expr"], panel["title"]


def test_every_dashboard_expr_parses_with_promtool(tmp_path):
    exprs = dashboard_exprs()
    assert exprs, "no expressions found in the dashboard"
    rules = [
        {"record": f"dashboard:expr_{i}:check", "expr": substitute(expr)}
        for i, (_, expr) in enumerate(exprs)
    ]
    for rule in rules:
        assert "$" not in rule["expr"], f"unsubstituted variable in {rule['expr']}"
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run([promtool(), "check", "rules", str(path)],
                            capture_output=True, text=True)
    index = "\n".join(f"expr_{i}: {where}" for i, (where, _) in enumerate(exprs))
    assert result.returncode == 0, f"{result.stdout}{result.stderr}\n{index}"


def test_every_metric_in_dashboard_and_rules_is_known():
    rules = load_rules()
    recorded = {rule["record"] for rule in rules if "record" in rule}
    known = contract_metrics() | recorded | {PUBSUB_EXPORTER_METRIC}
    unknown = {}
    for where, expr in dashboard_exprs():
        for name in metric_names(substitute(expr)) - known:
            unknown.setdefault(name, []).append(where)
    for rule in rules:
        where = rule.get("record") or rule.get("alert")
        for name in metric_names(rule["expr"]) - known:
            unknown.setdefault(name, []).append(f"rule {where}")
    assert not unknown, f"metrics not in docs/architecture.md nor recorded: {unknown}"


def test_contract_table_was_read():
    # Guards the check above against a changed table format silently allowing nothing.
    assert {"http_server_requests_total", "ingest_messages_total",
            "ingest_freshness_lag_seconds_bucket", "build_info"} <= contract_metrics()


def test_exporter_metric_choice_is_documented():
    assert PUBSUB_EXPORTER_METRIC in OBSERVABILITY.read_text()
    assert PUBSUB_EXPORTER_METRIC in RULES.read_text()


def test_every_alert_is_labelled_annotated_and_has_a_runbook():
    alerts = [rule for rule in load_rules() if "alert" in rule]
    assert alerts
    for rule in alerts:
        name = rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, name
        for key in ("summary", "description", "runbook_url"):
            assert rule["annotations"].get(key), f"{name} has no {key}"
        assert rule["annotations"]["runbook_url"] == f"docs/runbooks/{name}.md", name
        assert (REPO / rule["annotations"]["runbook_url"]).is_file(), f"no runbook: {name}"
        assert "system" in rule["annotations"]["summary"], f"{name} summary names no system"


def test_every_runbook_belongs_to_an_alert():
    alerts = {rule["alert"] for rule in load_rules() if "alert" in rule}
    runbooks = {path.stem for path in RUNBOOKS.glob("*.md") if path.stem != "README"}
    assert runbooks == alerts


def test_recording_rules_keep_the_system_label():
    # An aggregation that drops `system` would merge 50 systems into one series.
    for rule in load_rules():
        if "record" not in rule:
            continue
        assert "without" not in rule["expr"], f"{rule['record']}: use by (system, ...)"
        for clause in re.findall(r"\bby\s*\(([^)]*)\)", rule["expr"]):
            assert "system" in re.split(r"\s*,\s*", clause.strip()), rule["record"]


def test_terraform_dashboard_is_valid_json():
    dashboard = json.loads(TF_DASHBOARD.read_text())
    assert dashboard["mosaicLayout"]["tiles"]


def test_terraform_dashboard_template_renders(tmp_path):
    # `terraform console` evaluates templatefile() offline, with no provider and no init;
    # it catches a `${...}` the module does not pass, which plain JSON parsing cannot.
    terraform = shutil.which("terraform")
    if not terraform:
        pytest.skip("terraform not installed")
    main_tf = (TF_DASHBOARD.parent / "main.tf").read_text()
    passed = re.search(r'templatefile\([^{]*\{(.*?)\}\)', main_tf, re.S).group(1)
    names = re.findall(r"^\s*(\w+)\s*=", passed, re.M)
    values = ", ".join(f'{name} = "x-{name}"' for name in names)
    expr = f'jsondecode(templatefile("{TF_DASHBOARD}", {{{values}}})).displayName'
    result = subprocess.run([terraform, "console"], input=expr, capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "[x-system] pipeline" in result.stdout
