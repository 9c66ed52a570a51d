"""Policy checks over the Terraform code, parsed with python-hcl2.

These hold the rules that `terraform validate` and the scanners do not know:
the contract in docs/architecture.md, the delivery guarantees of the Pub/Sub
wiring, least privilege, and the module layout. They read files only, so they
run offline and without a provider.

Run: scripts/check-static.sh (or pytest tests/terraform with the tools venv).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
SCHEMAS = REPO / "schemas"
ENVS = ("dev", "prod")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
META_ARGUMENTS = ("source", "version", "for_each", "count", "depends_on", "providers")


def unquote(value):
    """python-hcl2 keeps the quotes of block labels and string literals."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@cache
def parse(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle)


def tf_files() -> list[Path]:
    return sorted(p for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts)


def blocks(kind: str, files=None):
    """Yield (path, type, name, body) for resources/data, (path, name, body) else."""
    for path in files or tf_files():
        for entry in parse(path).get(kind, []):
            for first, rest in entry.items():
                if kind in ("resource", "data"):
                    for name, body in rest.items():
                        yield path, unquote(first), unquote(name), body
                else:
                    yield path, unquote(first), rest


def resources(rtype: str, module: str | None = None):
    files = sorted((TERRAFORM / "modules" / module).glob("*.tf")) if module else None
    return [(p, n, b) for p, t, n, b in blocks("resource", files) if t == rtype]


def one(rtype: str, name: str, module: str) -> dict:
    found = [b for _, n, b in resources(rtype, module) if n == name]
    assert len(found) == 1, f"expected one {rtype}.{name} in modules/{module}"
    return found[0]


def single(body: dict, block: str) -> dict:
    value = body.get(block)
    assert isinstance(value, list) and len(value) == 1, f"expected one {block} block"
    return value[0]


def modules() -> list[Path]:
    return sorted(p for p in (TERRAFORM / "modules").iterdir() if p.is_dir())


def own_modules() -> list[Path]:
    # modules/monitoring is written by another engineer; its layout is checked
    # by the same rules once it exists, its wiring by the env-root tests below.
    return [m for m in modules() if any(m.iterdir())]


# --- layout -----------------------------------------------------------------


@pytest.mark.parametrize("module", own_modules(), ids=lambda p: p.name)
def test_every_module_has_the_standard_files(module: Path):
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (module / name).is_file(), f"{module.name} lacks {name}"


@pytest.mark.parametrize("module", own_modules(), ids=lambda p: p.name)
def test_every_module_pins_terraform_and_provider_versions(module: Path):
    terraform = parse(module / "versions.tf").get("terraform", [])
    assert terraform and "required_version" in terraform[0]
    providers = terraform[0].get("required_providers", [{}])[0]
    for name, spec in providers.items():
        if name.startswith("__"):
            continue
        assert "version" in spec, f"{module.name}: provider {name} has no version constraint"


def test_every_variable_has_a_type_and_a_description():
    missing = []
    for path, name, body in blocks("variable"):
        for field in ("type", "description"):
            if not str(unquote(body.get(field, ""))).strip():
                missing.append(f"{path.relative_to(REPO)}: {name} lacks {field}")
    assert not missing, "\n".join(missing)


def test_collection_variables_are_not_nullable():
    # A null list would turn for_each and concat into errors far from the cause.
    offenders = []
    for path, name, body in blocks("variable"):
        vtype = str(body.get("type", ""))
        is_collection = re.match(r"^\$\{(list|map|set)\(", vtype)
        if is_collection and body.get("nullable") is not False:
            offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert not offenders, "collections must set nullable = false:\n" + "\n".join(offenders)


@pytest.mark.parametrize("module", own_modules(), ids=lambda p: p.name)
def test_module_collections_default_to_empty(module: Path):
    # A module's API grants nothing by default; the env root states what it wants.
    for path, name, body in blocks("variable", sorted(module.glob("*.tf"))):
        vtype = str(body.get("type", ""))
        if re.match(r"^\$\{(list|map|set)\(", vtype) and "default" in body:
            assert body["default"] in ([], {}), f"{module.name}: {name} defaults non-empty"


def test_no_random_suffixes_in_names():
    types = {t for _, t, _, _ in blocks("resource")}
    assert not {t for t in types if t.startswith("random_")}, "names come from var.prefix"


def test_no_service_account_keys_are_created():
    types = {t for _, t, _, _ in blocks("resource")}
    assert "google_service_account_key" not in types, "CI uses workload identity, no keys"


# --- env roots ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["main.tf", "variables.tf", "outputs.tf", "versions.tf", "providers.tf"]
)
def test_dev_and_prod_share_their_code(name: str):
    dev, prod = (TERRAFORM / "envs" / env / name for env in ENVS)
    assert dev.read_text() == prod.read_text(), f"envs/dev/{name} and envs/prod/{name} differ"


@pytest.mark.parametrize("env", ENVS)
def test_env_root_keeps_state_in_gcs(env: str):
    backends = [
        entry["backend"]
        for entry in parse(TERRAFORM / "envs" / env / "backend.tf")["terraform"]
        if "backend" in entry
    ]
    assert backends and '"gcs"' in backends[0][0], "backend must be gcs"
    gcs = backends[0][0]['"gcs"']
    assert unquote(gcs["bucket"]) and env in unquote(gcs["prefix"])


@pytest.mark.parametrize("env", ENVS)
def test_pipeline_is_one_module_instance_per_system(env: str):
    main = parse(TERRAFORM / "envs" / env / "main.tf")
    calls = {unquote(k): v for entry in main["module"] for k, v in entry.items()}
    pipeline = calls["pipeline"]
    assert unquote(pipeline["source"]) == "../../modules/pipeline"
    assert pipeline["for_each"] == "${var.systems}"
    assert pipeline["name"] == "${each.key}"


@pytest.mark.parametrize("env", ENVS)
def test_subscription_settings_come_from_the_file_the_cli_reads(env: str):
    """`pipeline pubsub setup` reads config/pubsub.json; Terraform must read it too."""
    main = parse(TERRAFORM / "envs" / env / "main.tf")
    settings = {k: v for entry in main["locals"] for k, v in entry.items()}["pubsub_settings"]
    assert "config/pubsub.json" in settings and "jsondecode" in settings
    calls = {unquote(k): v for entry in main["module"] for k, v in entry.items()}
    assert "local.pubsub_settings" in str(calls["pipeline"]["pubsub"])
    keys = set(json.loads((REPO / "config" / "pubsub.json").read_text()))
    declared = (TERRAFORM / "modules" / "pipeline" / "variables.tf").read_text()
    for key in keys:
        assert re.search(rf"\b{key}\s*=\s*optional", declared), f"pubsub.{key} not declared"


@pytest.mark.parametrize("env", ENVS)
def test_every_system_has_a_schema_file(env: str):
    tfvars = parse(TERRAFORM / "envs" / env / "terraform.tfvars")
    systems = tfvars.get("systems", {})
    assert systems, f"{env} defines no system"
    for name, system in systems.items():
        table = unquote(system["table"])
        assert (SCHEMAS / f"{table}.json").is_file(), f"{env}/{name}: no schemas/{table}.json"


@pytest.mark.parametrize("env", ENVS)
def test_monitoring_module_is_wired_with_matching_inputs(env: str):
    main = parse(TERRAFORM / "envs" / env / "main.tf")
    calls = {unquote(k): v for entry in main["module"] for k, v in entry.items()}
    call = calls.get("monitoring")
    assert call, "module monitoring must be called from the env root"
    assert unquote(call["source"]) == "../../modules/monitoring"
    passed = {k for k in call if not k.startswith("__") and k not in META_ARGUMENTS}
    assert {"project_id", "notification_channels"} <= passed

    variables_tf = TERRAFORM / "modules" / "monitoring" / "variables.tf"
    if not variables_tf.is_file():
        pytest.skip("modules/monitoring/variables.tf is not written yet")
    declared = {name: body for _, name, body in blocks("variable", [variables_tf])}
    unknown = passed - declared.keys()
    assert not unknown, f"monitoring has no variables {sorted(unknown)}"
    required = {n for n, b in declared.items() if "default" not in b}
    assert required <= passed, f"monitoring needs {sorted(required - passed)}"


# --- public access --------------------------------------------------------------


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k != "validation":
                yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_nothing_is_granted_to_the_public():
    offenders = []
    for path, rtype, name, body in blocks("resource"):
        for text in _strings(body):
            if any(p in text for p in PUBLIC_MEMBERS):
                offenders.append(f"{path.relative_to(REPO)}: {rtype}.{name}")
    for tfvars in TERRAFORM.rglob("*.tfvars"):
        if any(p in tfvars.read_text() for p in PUBLIC_MEMBERS):
            offenders.append(str(tfvars.relative_to(REPO)))
    assert not offenders, "public principals:\n" + "\n".join(offenders)


def test_member_variables_refuse_public_principals():
    for var in ("data_api_invokers",):
        body = next(b for p, n, b in blocks("variable") if n == var and "pipeline" in str(p))
        conditions = " ".join(v["condition"] for v in body["validation"])
        assert all(p in conditions for p in PUBLIC_MEMBERS)


# --- Pub/Sub --------------------------------------------------------------------


def test_push_subscription_authenticates_with_oidc():
    sub = one("google_pubsub_subscription", "push", "pipeline")
    push = single(sub, "push_config")
    assert unquote(push["push_endpoint"]).endswith("/pubsub/push")
    assert "google_cloud_run_v2_service.ingest.uri" in push["push_endpoint"]
    token = single(push, "oidc_token")
    assert token["service_account_email"] == "${google_service_account.push.email}"
    assert token.get("audience"), "the audience must be set and checked by ingest"


def test_push_subscription_dead_letters_retries_and_never_expires():
    sub = one("google_pubsub_subscription", "push", "pipeline")
    dead = single(sub, "dead_letter_policy")
    assert dead["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert dead.get("max_delivery_attempts")
    retry = single(sub, "retry_policy")
    assert retry.get("minimum_backoff") and retry.get("maximum_backoff")
    assert unquote(single(sub, "expiration_policy")["ttl"]) == ""
    assert sub.get("ack_deadline_seconds")


def test_dead_letter_topic_has_a_pull_subscription_that_never_expires():
    sub = one("google_pubsub_subscription", "dead_letter", "pipeline")
    assert sub["topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert "push_config" not in sub
    assert unquote(single(sub, "expiration_policy")["ttl"]) == ""


def test_topics_retain_messages():
    for name in ("main", "dead_letter"):
        assert one("google_pubsub_topic", name, "pipeline").get("message_retention_duration")


def test_pubsub_service_agent_has_its_grants():
    agent = "${local.pubsub_agent}"
    publisher = one("google_pubsub_topic_iam_member", "dead_letter_publisher", "pipeline")
    assert publisher["topic"] == "${google_pubsub_topic.dead_letter.name}"
    assert unquote(publisher["role"]) == "roles/pubsub.publisher"
    assert publisher["member"] == agent

    subscriber = one("google_pubsub_subscription_iam_member", "push_subscriber", "pipeline")
    assert subscriber["subscription"] == "${google_pubsub_subscription.push.name}"
    assert unquote(subscriber["role"]) == "roles/pubsub.subscriber"
    assert subscriber["member"] == agent

    creator = one("google_service_account_iam_member", "push_token_creator", "pipeline")
    assert creator["service_account_id"] == "${google_service_account.push.name}"
    assert unquote(creator["role"]) == "roles/iam.serviceAccountTokenCreator"
    assert creator["member"] == agent

    main = parse(TERRAFORM / "modules" / "pipeline" / "main.tf")
    local_values = {k: v for entry in main["locals"] for k, v in entry.items()}
    assert "@gcp-sa-pubsub.iam.gserviceaccount.com" in local_values["pubsub_agent"]


# --- BigQuery -------------------------------------------------------------------


def test_table_schema_is_read_from_the_schema_files():
    table = one("google_bigquery_table", "main", "pipeline")
    schema = table["schema"]
    assert schema.startswith("${jsonencode(concat(")
    assert 'file("${local.schema_dir}/metadata.json")' in schema
    assert "file(local.table_schema_file)" in schema
    assert schema.index("metadata.json") < schema.index("table_schema_file")

    main = parse(TERRAFORM / "modules" / "pipeline" / "main.tf")
    local_values = {k: v for entry in main["locals"] for k, v in entry.items()}
    schema_dir = unquote(local_values["schema_dir"]).replace("${path.module}", "")
    resolved = (TERRAFORM / "modules" / "pipeline" / schema_dir.lstrip("/")).resolve()
    assert resolved == SCHEMAS
    assert "${var.table}.json" in local_values["table_schema_file"]


def test_no_column_is_restated_in_terraform():
    columns = {
        col["name"]
        for f in SCHEMAS.glob("*.json")
        if isinstance(json.loads(f.read_text()), list)
        for col in json.loads(f.read_text())
    }
    for path in tf_files():
        text = path.read_text()
        assert '"mode"' not in text and "REQUIRED" not in text, f"{path}: inline schema"
    # Partitioning and clustering name columns; they must exist in the files.
    metadata = {c["name"] for c in json.loads((SCHEMAS / "metadata.json").read_text())}
    assert {"ingested_at", "message_id"} <= metadata
    assert columns


def test_table_is_partitioned_clustered_and_protected():
    table = one("google_bigquery_table", "main", "pipeline")
    part = single(table, "time_partitioning")
    assert unquote(part["type"]) == "DAY"
    assert unquote(part["field"]) == "ingested_at"
    assert [unquote(c) for c in table["clustering"]] == ["message_id"]
    assert table["deletion_protection"] == "${var.deletion_protection}"
    default = next(
        b["default"] for p, n, b in blocks("variable") if n == "deletion_protection"
        and "pipeline" in str(p)
    )
    assert default is True


def test_dead_letter_table_comes_from_its_schema_file():
    table = one("google_bigquery_table", "dead_letter", "pipeline")
    assert 'file("${local.schema_dir}/dead_letter.json")' in table["schema"]
    field = unquote(single(table, "time_partitioning")["field"])
    dead = {c["name"] for c in json.loads((SCHEMAS / "dead_letter.json").read_text())}
    assert field in dead
    assert table["deletion_protection"] == "${var.deletion_protection}"
    main = parse(TERRAFORM / "modules" / "pipeline" / "main.tf")
    local_values = {k: v for entry in main["locals"] for k, v in entry.items()}
    assert unquote(local_values["dead_letter_table"]) == "${var.table}_dead_letter"


def test_dataset_is_analytics_dataset_with_location_and_kept_on_destroy():
    dataset = one("google_bigquery_dataset", "this", "analytics-dataset")
    assert dataset.get("location")
    assert dataset["delete_contents_on_destroy"] is False
    default = next(
        b["default"] for p, n, b in blocks("variable")
        if n == "dataset_id" and "analytics-dataset" in str(p)
    )
    assert unquote(default) == "analytics_dataset"


# --- Cloud Run -------------------------------------------------------------------

SERVICES = ("ingest", "data_api")


@pytest.mark.parametrize("name", SERVICES)
def test_service_runs_as_its_own_account(name: str):
    service = one("google_cloud_run_v2_service", name, "pipeline")
    template = single(service, "template")
    assert template["service_account"] == f"${{google_service_account.{name}.email}}"
    assert template.get("max_instance_request_concurrency")
    scaling = single(template, "scaling")
    assert "min_instance_count" in scaling and "max_instance_count" in scaling


@pytest.mark.parametrize("name", SERVICES)
def test_service_has_startup_and_liveness_probes(name: str):
    container = single(single(one("google_cloud_run_v2_service", name, "pipeline"),
                              "template"), "containers")
    startup = single(single(container, "startup_probe"), "http_get")
    liveness = single(single(container, "liveness_probe"), "http_get")
    assert unquote(startup["path"]) == "/readyz"
    assert unquote(liveness["path"]) == "/healthz"
    limits = single(container, "resources")["limits"]
    assert limits.get("cpu") and limits.get("memory")


@pytest.mark.parametrize("name", SERVICES)
def test_rollouts_by_ci_are_not_reverted_by_terraform(name: str):
    service = one("google_cloud_run_v2_service", name, "pipeline")
    ignored = {str(x) for x in single(service, "lifecycle")["ignore_changes"]}
    joined = " ".join(ignored)
    assert "traffic" in joined and "containers[0].image" in joined
    assert service["deletion_protection"] == "${var.deletion_protection}"


def test_ingest_is_internal_and_only_the_push_identity_invokes_it():
    service = one("google_cloud_run_v2_service", "ingest", "pipeline")
    assert unquote(service["ingress"]) == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    invokers = [
        b for _, n, b in resources("google_cloud_run_v2_service_iam_member", "pipeline")
        if b["name"] == "${google_cloud_run_v2_service.ingest.name}"
    ]
    assert [b["member"] for b in invokers] == ["${google_service_account.push.member}"]
    assert service["custom_audiences"] == ["${local.push_audience}"]


def test_services_get_the_environment_the_architecture_names():
    main = parse(TERRAFORM / "modules" / "pipeline" / "main.tf")
    local_values = {k: v for entry in main["locals"] for k, v in entry.items()}
    common = {k: unquote(v) for k, v in local_values["bigquery_common_env"].items()}
    assert common["PIPELINE_STORE"] == "bigquery"
    assert common["PIPELINE_LOG_FORMAT"] == "json"
    assert common["PIPELINE_BQ_PROJECT"] == "${var.project_id}"
    assert common["PIPELINE_BQ_DATASET"] == "${var.dataset_id}"
    assert unquote(local_values["container_schema"]) == "/schemas/${var.table}.json"
    ingest_env = local_values["ingest_env"]
    for key in ("PIPELINE_PUSH_AUTH", "PIPELINE_PUSH_AUDIENCE",
                "PIPELINE_PUSH_ALLOWED_SERVICE_ACCOUNTS"):
        assert key in ingest_env, f"ingest needs {key}"
    assert '"oidc"' in ingest_env and "google_service_account.push.email" in ingest_env
    # Every variable the services get is one the architecture document names.
    documented = set(re.findall(r"`(PIPELINE_[A-Z_]+)`", (REPO / "docs/architecture.md")
                                .read_text()))
    named = set(common) | set(re.findall(r"PIPELINE_[A-Z_]+", ingest_env))
    assert named <= documented, f"undocumented: {sorted(named - documented)}"


def test_data_api_reads_only_and_runs_jobs():
    viewer = one("google_bigquery_table_iam_member", "data_api_table_viewer", "pipeline")
    assert unquote(viewer["role"]) == "roles/bigquery.dataViewer"
    jobs = one("google_project_iam_member", "data_api_job_user", "pipeline")
    assert unquote(jobs["role"]) == "roles/bigquery.jobUser"


def test_ingest_has_no_project_wide_bigquery_role():
    for _, _, body in resources("google_project_iam_member", "pipeline"):
        assert "ingest" not in body["member"], "ingest writes through table grants only"
    roles = {
        unquote(b["role"]) for _, n, b in resources("google_bigquery_table_iam_member", "pipeline")
        if "ingest" in b["member"]
    }
    assert roles == {"roles/bigquery.dataEditor"}


# --- CI identities ----------------------------------------------------------------


def test_workload_identity_is_restricted_to_the_repository():
    provider = one("google_iam_workload_identity_pool_provider", "github", "github-wif")
    condition = provider["attribute_condition"]
    assert "assertion.repository == '${var.github_repository}'" in condition
    assert "refs/heads/main" in condition and "event_name == 'push'" in condition
    oidc = single(provider, "oidc")
    assert unquote(oidc["issuer_uri"]) == "https://token.actions.githubusercontent.com"


def test_apply_identity_is_bound_to_main_only_and_plan_is_read_only():
    main = parse(TERRAFORM / "modules" / "github-wif" / "main.tf")
    local_values = {k: v for entry in main["locals"] for k, v in entry.items()}
    assert "subject/repo:${var.github_repository}:ref:refs/heads/main" in \
        local_values["apply_principal"]
    root = parse(TERRAFORM / "envs" / "prod" / "main.tf")
    local_values = {k: v for entry in root["locals"] for k, v in entry.items()}
    for role in local_values["ci_plan_roles"]:
        assert re.search(r"(viewer|Viewer|Reviewer|reader|Reader)$", unquote(role)), role
    assert "roles/viewer" not in [unquote(r) for r in local_values["ci_plan_roles"]]
    apply_roles = {unquote(r) for r in local_values["ci_apply_roles"]}
    assert not {"roles/owner", "roles/editor", "roles/iam.serviceAccountUser"} & apply_roles
