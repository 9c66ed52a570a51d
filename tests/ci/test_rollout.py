"""scripts/rollout.sh against a fake gcloud and a fake cargo.

The fakes keep each service's traffic in a JSON file, answer `describe`, and
apply `deploy --no-traffic --tag` and `update-traffic` the way Cloud Run does
for the fields the script reads; every call is logged. Nothing leaves the
machine. Needs jq (Debian's package; it is on GitHub's runners).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROLLOUT = REPO / "scripts" / "rollout.sh"
SHA = "0123456789abcdef0123456789abcdef01234567"
TAG = "sha-0123456789ab"

FAKE_GCLOUD = r'''#!/usr/bin/env python3
import json, os, sys
state = os.environ["FAKE_STATE"]
args = sys.argv[1:]
with open(os.path.join(state, "calls.log"), "a") as log:
    log.write(" ".join(args) + "\n")
# run services describe|update-traffic SERVICE ...; run deploy SERVICE ...
svc = args[3] if args[1] == "services" else args[2]
path = os.path.join(state, svc + ".json")
traffic = json.load(open(path))
def opt(name):
    return args[args.index(name) + 1] if name in args else None
if args[:3] == ["run", "services", "describe"]:
    print(json.dumps({"status": {"traffic": traffic}}))
elif args[:2] == ["run", "deploy"]:
    if os.environ.get("FAKE_FAIL_DEPLOY") == svc:
        sys.exit("deploy failed")
    n = sum(1 for t in traffic if t.get("revisionName")) + 1
    traffic.append({"revisionName": f"{svc}-{n:05d}", "tag": opt("--tag"),
                    "url": f"https://{opt('--tag')}---{svc}.run.app", "percent": None})
elif "--to-revisions" in args:
    rev, pct = opt("--to-revisions").split("=")
    for t in traffic:
        t["percent"] = int(pct) if t["revisionName"] == rev else None
elif "--remove-tags" in args:
    gone = opt("--remove-tags").split(",")
    for t in traffic:
        if t.get("tag") in gone:
            t["tag"] = None
json.dump(traffic, open(path, "w"))
'''

FAKE_CARGO = r'''#!/usr/bin/env bash
echo "cargo $*" >>"$FAKE_STATE/calls.log"
[[ -n "${PIPELINE_DATA_API_ID_TOKEN:-}" ]] || exit 3
[[ "${FAKE_FAIL_ROUNDTRIP:-}" != "1" ]]
'''

SYSTEMS = {
    "example": {
        "topic_id": "projects/p/topics/ana-dev-example",
        "ingest_service_name": "ana-dev-example-ingest",
        "data_api_service_name": "ana-dev-example-data-api",
    },
    "flights": {
        "topic_id": "projects/p/topics/ana-dev-flights",
        "ingest_service_name": "ana-dev-flights-ingest",
        "data_api_service_name": "ana-dev-flights-data-api",
    },
}
SERVICES = [s[k] for s in SYSTEMS.values() for k in ("ingest_service_name",
                                                      "data_api_service_name")]

pytestmark = pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")


@pytest.fixture
def env(tmp_path: Path) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("gcloud", FAKE_GCLOUD), ("cargo", FAKE_CARGO)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    for svc in SERVICES:
        current = [{"revisionName": f"{svc}-00001", "percent": 100, "tag": "sha-old"}]
        (state / f"{svc}.json").write_text(json.dumps(current))
    (tmp_path / "systems.json").write_text(json.dumps(SYSTEMS))
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_STATE": str(state),
        "SYSTEMS_JSON": str(tmp_path / "systems.json"),
        "STATE_DIR": str(tmp_path / "rollout"),
        "REGION": "europe-west1",
        "IMAGE_BASE": "europe-west1-docker.pkg.dev/p/ana-dev-images",
        "SHA": SHA,
        "PIPELINE_DATA_API_ID_TOKEN": "token",
    }


def rollout(env: dict, step: str, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROLLOUT), step], env={**env, **extra},
                          capture_output=True, text=True, timeout=60)


def traffic(env: dict, svc: str) -> dict:
    entries = json.loads((Path(env["FAKE_STATE"]) / f"{svc}.json").read_text())
    return {t["revisionName"]: t for t in entries}


def calls(env: dict) -> list[str]:
    return (Path(env["FAKE_STATE"]) / "calls.log").read_text().splitlines()


def test_a_good_deploy_moves_all_traffic_to_the_new_revisions(env):
    for step in ("record", "deploy", "verify", "promote"):
        result = rollout(env, step)
        assert result.returncode == 0, result.stderr
    for svc in SERVICES:
        revisions = traffic(env, svc)
        assert revisions[f"{svc}-00002"]["percent"] == 100
        assert revisions[f"{svc}-00001"]["percent"] is None
        assert revisions[f"{svc}-00001"]["tag"] is None, "old tags are dropped"
        assert revisions[f"{svc}-00002"]["tag"] == TAG


def test_new_revisions_get_no_traffic_and_the_sha_image(env):
    rollout(env, "record")
    assert rollout(env, "deploy").returncode == 0
    log = calls(env)
    image = f"{env['IMAGE_BASE']}/ingest:{SHA}"
    assert any(f"--image {image} --no-traffic --tag {TAG}" in c for c in log)
    for svc in SERVICES:
        assert traffic(env, svc)[f"{svc}-00001"]["percent"] == 100


def test_the_round_trip_reads_through_each_tagged_data_api(env):
    rollout(env, "record")
    rollout(env, "deploy")
    assert rollout(env, "verify").returncode == 0
    cargo = [c for c in calls(env) if c.startswith("cargo ")]
    assert len(cargo) == len(SYSTEMS)
    for system in SYSTEMS.values():
        svc = system["data_api_service_name"]
        expected = (f"roundtrip --topic {system['topic_id']} "
                    f"--data-url https://{TAG}---{svc}.run.app "
                    "--timeout-secs 60 --max-latency-ms 500")
        assert any(expected in c for c in cargo), expected


def test_a_failed_round_trip_fails_and_rollback_keeps_the_old_revisions(env):
    rollout(env, "record")
    rollout(env, "deploy")
    assert rollout(env, "verify", FAKE_FAIL_ROUNDTRIP="1").returncode != 0
    assert rollout(env, "rollback").returncode == 0
    for svc in SERVICES:
        assert traffic(env, svc)[f"{svc}-00001"]["percent"] == 100


def test_rollback_after_a_partial_promote_restores_every_service(env):
    rollout(env, "record")
    rollout(env, "deploy")
    # As if promote had moved one service before failing.
    svc = SERVICES[0]
    subprocess.run(["gcloud", "run", "services", "update-traffic", svc,
                    "--to-revisions", f"{svc}-00002=100"], env=env, check=True)
    assert rollout(env, "rollback").returncode == 0
    for s in SERVICES:
        assert traffic(env, s)[f"{s}-00001"]["percent"] == 100


def test_rollback_before_anything_was_read_is_a_no_op(env):
    os.remove(env["SYSTEMS_JSON"])
    result = rollout(env, "rollback")
    assert result.returncode == 0 and "no traffic was moved" in result.stderr


def test_verify_refuses_to_run_without_an_id_token(env):
    result = rollout(env, "verify", PIPELINE_DATA_API_ID_TOKEN="")
    assert result.returncode != 0 and "PIPELINE_DATA_API_ID_TOKEN" in result.stderr
