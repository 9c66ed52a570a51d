"""Policy checks over .github/workflows that the linters do not make.

zizmor and actionlint catch most hijack paths; these pin down this project's
own rules: keyless GCP access with separate plan and apply identities, OIDC
tokens only where needed, caches written only from main, and deploys that
move traffic only after the round trip.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def jobs(path: Path):
    return load(path)["jobs"].items()


def steps(path: Path):
    for _, job in jobs(path):
        yield from job.get("steps", [])


def test_there_are_ci_and_deploy_workflows():
    names = {p.name for p in FILES}
    assert {"ci.yml", "deploy.yml"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_sha_with_a_version_comment(path: Path):
    lines = path.read_text().splitlines()
    for line in lines:
        match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
        if not match or match.group(1).startswith("./"):
            continue
        assert SHA_PIN.match(match.group(1)), f"not pinned by SHA: {line.strip()}"
        assert re.search(r"#\s*v\d", match.group(2)), f"no version comment: {line.strip()}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_top_level_permissions_are_empty(path: Path):
    assert load(path).get("permissions") == {}, "default to no permissions"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_id_token_only_where_gcp_is_reached(path: Path):
    for name, job in jobs(path):
        perms = job.get("permissions", {})
        authenticates = any(
            "google-github-actions/auth" in str(s.get("uses", "")) for s in job.get("steps", [])
        ) or "uses" in job  # a reusable workflow that authenticates inside
        if perms.get("id-token") == "write":
            assert authenticates, f"{name} asks for id-token but never authenticates"
        if authenticates and "steps" in job:
            assert perms.get("id-token") == "write", f"{name} authenticates without id-token"
        for scope, level in perms.items():
            assert scope == "id-token" or level == "read", f"{name}: {scope}: {level}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_checkout_never_persists_credentials(path: Path):
    for step in steps(path):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_service_account_keys(path: Path):
    text = path.read_text()
    assert "credentials_json" not in text and "GOOGLE_CREDENTIALS" not in text
    for step in steps(path):
        if "google-github-actions/auth" in str(step.get("uses", "")):
            given = step.get("with", {})
            assert given.get("workload_identity_provider") and given.get("service_account")


def test_caches_are_saved_only_from_main():
    for path in FILES:
        for step in steps(path):
            uses = str(step.get("uses", ""))
            # The combined action saves from any branch; restore/save split it.
            assert not uses.startswith("actions/cache@"), "use actions/cache/restore and /save"
            if uses.startswith("actions/cache/save@"):
                condition = step.get("if", "")
                assert "refs/heads/main" in condition and "push" in condition


def test_deploy_workflows_use_no_cache():
    for name in ("deploy.yml", "deploy-env.yml"):
        for step in steps(WORKFLOWS / name):
            assert "actions/cache" not in str(step.get("uses", ""))


def test_plan_uses_the_plan_identity_and_deploy_the_apply_identity():
    ci = (WORKFLOWS / "ci.yml").read_text()
    assert "PLAN_SA" in ci and "APPLY_SA" not in ci
    deploy = (WORKFLOWS / "deploy.yml").read_text()
    assert "APPLY_SA" in deploy and "PLAN_SA" not in deploy
    # ruamel reads YAML 1.2, where `on` is a plain string key.
    assert load(WORKFLOWS / "deploy.yml")["on"] == {"push": {"branches": ["main"]}}


def test_ci_runs_the_required_checks():
    text = (WORKFLOWS / "ci.yml").read_text()
    for needle in ("cargo fmt --all -- --check", "-D warnings", "scripts/test",
                   "scripts/check-static.sh", "terraform", "plan"):
        assert needle in text, needle


def test_deploy_moves_traffic_only_after_the_round_trip_and_rolls_back():
    names = [s.get("run", "") for s in steps(WORKFLOWS / "deploy-env.yml")]
    order = [next(i for i, r in enumerate(names) if f"rollout.sh {verb}" in r)
             for verb in ("record", "deploy", "verify", "promote")]
    assert order == sorted(order)
    rollback = [s for s in steps(WORKFLOWS / "deploy-env.yml")
                if "rollout.sh rollback" in s.get("run", "")]
    assert rollback and rollback[0].get("if") == "failure()"
    rollout = (REPO / "scripts" / "rollout.sh").read_text()
    assert "--no-traffic" in rollout and "--tag" in rollout
    assert "roundtrip" in rollout and "--max-latency-ms 500" in rollout


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_concurrency_is_set(path: Path):
    assert load(path).get("concurrency") or path.name == "deploy-env.yml"
