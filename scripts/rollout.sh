#!/usr/bin/env bash
# Blue/green rollout of every system's Cloud Run services, run by
# .github/workflows/deploy-env.yml after terraform apply. Kept out of the YAML so
# that shellcheck reads it and a person can run one step by hand.
#
#   scripts/rollout.sh record     remember the revisions serving traffic now
#   scripts/rollout.sh deploy     new revisions from the SHA images, no traffic, tagged
#   scripts/rollout.sh verify     post-deploy round trip through each tagged data-api
#   scripts/rollout.sh promote    move all traffic to the new revisions
#   scripts/rollout.sh rollback   move all traffic back to the recorded revisions
#
# Environment:
#   SYSTEMS_JSON  file with `terraform output -json systems`   (required)
#   REGION        Cloud Run region (terraform output region)    (required)
#   IMAGE_BASE    REGION-docker.pkg.dev/PROJECT/REPO            (deploy)
#   SHA           full commit SHA; images are tagged with it    (deploy, verify, promote)
#   STATE_DIR     where record/deploy keep revision names       (default .rollout)
#   PIPELINE_DATA_API_ID_TOKEN  ID token the data-api accepts   (verify)
#
# Needs gcloud (authenticated), jq and, for verify, cargo.
set -euo pipefail

die() { printf 'rollout: %s\n' "$*" >&2; exit 1; }
log() { printf 'rollout: %s\n' "$*" >&2; }

: "${SYSTEMS_JSON:?set SYSTEMS_JSON to the output of terraform output -json systems}"
: "${REGION:?set REGION}"
state_dir="${STATE_DIR:-.rollout}"
mkdir -p "$state_dir"

# Revision tags must start with a letter and stay short; the SHA prefix makes
# the tagged URL name the commit it serves.
tag() { printf 'sha-%s' "${SHA:0:12}"; }

# "system service-name image-name" per line, for both services of every system.
services() {
  jq -r 'to_entries[] | .key as $s | .value
    | "\($s) \(.ingest_service_name) ingest",
      "\($s) \(.data_api_service_name) data-api"' "$SYSTEMS_JSON"
}

describe() {
  gcloud run services describe "$1" --region "$REGION" --format json
}

# The revision that serves the most traffic now: where a rollback returns to.
record() {
  local system svc image current
  while read -r system svc image; do
    current="$(describe "$svc" | jq -r '
      [.status.traffic[] | select(.percent != null and .percent > 0)]
      | max_by(.percent) | .revisionName // empty')"
    [[ -n "$current" ]] || die "$svc serves no revision; deploy it once by hand"
    printf '%s\n' "$current" >"$state_dir/$svc.previous"
    log "$system: $svc serves $current"
  done < <(services)
}

deploy() {
  : "${IMAGE_BASE:?set IMAGE_BASE}" "${SHA:?set SHA}"
  local system svc image revision
  while read -r system svc image; do
    log "$system: deploying $image:$SHA to $svc without traffic"
    # --no-traffic: the new revision gets only its tagged URL until verified.
    gcloud run deploy "$svc" --region "$REGION" --quiet \
      --image "$IMAGE_BASE/$image:$SHA" --no-traffic --tag "$(tag)"
    revision="$(describe "$svc" | jq -r --arg t "$(tag)" '
      .status.traffic[] | select(.tag == $t) | .revisionName')"
    [[ -n "$revision" ]] || die "$svc has no revision tagged $(tag)"
    printf '%s\n' "$revision" >"$state_dir/$svc.new"
  done < <(services)
}

# One round trip per system: publish to the topic, read the row back through
# the new data-api revision's tagged URL. Ingest runs the revision that serves
# traffic (Pub/Sub pushes to the service URL), so a new ingest revision is
# exercised only after promote; docs/deploy.md records that gap.
verify() {
  : "${SHA:?set SHA}"
  # The data-api admits only IAM-authorised callers (the apply identity is an
  # invoker); the workflow mints this ID token for the data-apis' shared custom
  # audience. That roundtrip sends it as a bearer token is an assumption to
  # confirm with the command's author (docs/deploy.md, "Not verified").
  : "${PIPELINE_DATA_API_ID_TOKEN:?set PIPELINE_DATA_API_ID_TOKEN (an ID token for the data-api)}"
  export PIPELINE_DATA_API_ID_TOKEN
  local system topic svc url
  while read -r system topic svc; do
    url="$(describe "$svc" | jq -r --arg t "$(tag)" '
      .status.traffic[] | select(.tag == $t) | .url')"
    [[ -n "$url" ]] || die "$svc has no URL tagged $(tag)"
    log "$system: round trip $topic -> $url"
    cargo run --locked --release -p pipeline -- roundtrip \
      --topic "$topic" --data-url "$url" --timeout-secs 60 --max-latency-ms 500
  done < <(jq -r 'to_entries[] | "\(.key) \(.value.topic_id) \(.value.data_api_service_name)"' \
    "$SYSTEMS_JSON")
}

move_traffic() {
  local suffix="$1" system svc image revision
  while read -r system svc image; do
    [[ -f "$state_dir/$svc.$suffix" ]] || { log "$system: no $suffix revision of $svc"; continue; }
    revision="$(cat "$state_dir/$svc.$suffix")"
    log "$system: $svc -> $revision (100%)"
    gcloud run services update-traffic "$svc" --region "$REGION" --quiet \
      --to-revisions "$revision=100"
  done < <(services)
}

# Each deploy adds a sha-* tag; once traffic has moved, the older ones only
# clutter the service (and count against its traffic-target limit).
drop_old_tags() {
  : "${SHA:?set SHA}"
  local system svc image old
  while read -r system svc image; do
    old="$(describe "$svc" | jq -r --arg t "$(tag)" '
      [.status.traffic[] | select(.tag != null and (.tag | startswith("sha-")))
       | select(.tag != $t) | .tag] | join(",")')"
    [[ -n "$old" ]] || continue
    log "$system: $svc drops tags $old"
    # Cosmetic: a failure here must not roll back verified revisions.
    gcloud run services update-traffic "$svc" --region "$REGION" --quiet \
      --remove-tags "$old" || log "$system: could not drop tags of $svc; left as they are"
  done < <(services)
}

case "${1:-}" in
  record) record ;;
  deploy) deploy ;;
  verify) verify ;;
  promote)
    move_traffic new
    drop_old_tags
    ;;
  # Undo whatever promote managed before it failed; untouched services are
  # already on their previous revision and are set to it again, harmlessly.
  rollback)
    if [[ ! -f "$SYSTEMS_JSON" ]]; then
      log "failed before the systems were read: no traffic was moved"
      exit 0
    fi
    move_traffic previous
    ;;
  *) die "usage: $0 record|deploy|verify|promote|rollback" ;;
esac
