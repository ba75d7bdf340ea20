#!/usr/bin/env bash
# The Kubernetes tier (test/k8s): BOT_LAUNCHER=kubernetes against the single-node cluster of
# scripts/k8s/cluster.sh (docs/k8s-cluster.md). It
#   1. builds the cluster if needed (cached: about a second) and starts it unless it runs already;
#   2. builds the runner image (scripts/images/build-runner-image.sh) when the archive is missing
#      or older than anything it bundles, and imports it into the node's containerd;
#   3. runs the tier inside the cluster's network namespace (cluster.sh exec), with the test NATS
#      server listening on every address there, so runner pods reach it at the node's address;
#   4. stops the cluster if it started it.
# Ends with the test runner's line "tests: N passed, N failed"; the exit code is Jest's.
#
# Usage: scripts/k8s/test.sh [JEST ARGS...]      (needs root, as cluster.sh does)
# Environment: TEST_K8S_LOG_LEVEL (the API's LOG_LEVEL in the tests, default error);
# MP_K8S_TESTS=auto (as `make test` runs it): where the cluster cannot run here (not root, no
# network namespaces, no Go to build it), say so and end with success instead of failing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cluster="$here/cluster.sh"
archive="$root/dist/images/bot-runner.oci.tar"
began=$(date +%s.%N)

log() { echo "[k8s-test $(date +%T)] $*" >&2; }
cannot() {
  if [ "${MP_K8S_TESTS:-always}" = auto ]; then
    log "SKIPPED the Kubernetes tier: $*"
    exit 0
  fi
  log "$*"
  exit 1
}
[ "$(id -u)" -eq 0 ] || cannot "run as root: the cluster needs network namespaces, cgroups and mounts"
command -v ip >/dev/null 2>&1 && ip netns list >/dev/null 2>&1 ||
  cannot "this machine has no network namespaces (ip netns)"
command -v go >/dev/null 2>&1 || cannot "Go is needed to build the cluster (docs/k8s-cluster.md)"

cd "$root"

started=0
finish() {
  local status=$?
  if [ "$started" = 1 ]; then "$cluster" stop >&2 || status=1; fi
  log "done in $(awk -v a="$began" -v b="$(date +%s.%N)" 'BEGIN{printf "%.0f", b - a}') s"
  exit "$status"
}
trap finish EXIT

if "$cluster" status >/dev/null 2>&1; then
  log "the cluster runs already; it stays up"
else
  "$cluster" build >&2
  "$cluster" start >/dev/null
  started=1
fi

# What the runner bundle and image are made of (scripts/images/stage-runner-rootfs.sh).
sources=(apps/bot-runner libs scripts/images bots/runtime-image package.json package-lock.json)
if [ ! -f "$archive" ] || [ -n "$(find "${sources[@]}" -type f -newer "$archive" -print -quit)" ]; then
  log "building the runner image (missing or older than its sources)"
  scripts/images/build-runner-image.sh >&2
fi
image="$(scripts/with-node24.sh node -p "require('./dist/images/bot-runner.oci.json').name")"
"$cluster" import-image "$archive" "$image" >/dev/null

# The tier's own NATS must be the one the pods can reach: never a NATS_URL from outside.
"$cluster" exec -- env -u NATS_URL -u TEST_NATS_URL -u NATS_CREDS_FILE \
  -u NATS_RUNNER_SIGNING_KEY_FILE \
  TEST_NATS_LISTEN=0.0.0.0 TEST_SKIP_BUILD=1 TEST_K8S_IMAGE="$image" \
  "$root/scripts/with-node24.sh" node scripts/jest.mjs --config test/k8s/jest.config.js "$@"
