#!/usr/bin/env bash
# Runs schemathesis (property-based tests from the OpenAPI document) against a freshly started API
# on a free loopback port with a throw-away DATA_DIR (embedded PGlite, since DATABASE_URL is
# unset), the way scripts/conformance.sh starts it for the MCP suite. test/schemathesis/seed.mjs
# takes an access token (AUTH_MODE=open: a client-credentials client registers itself) and creates
# a channel with GuessBot, whose ids test/schemathesis/schemathesis.toml puts into the paths.
#
# Checks: not_a_server_error, response_schema_conformance, status_code_conformance,
# content_type_conformance, response_headers_conformance. Exits non-zero on any failure, or when
# the server does not come up. schemathesis lives in a Python venv under .tools/, installed once
# from PyPI at the pinned version. Unattended: no prompts, stdin is never read.
#
# Environment (all optional):
#   SCHEMATHESIS_VERSION       schemathesis version (default: the pinned one below)
#   SCHEMATHESIS_PYTHON        Python 3.11+ (schemathesis needs it) to build the venv with (default python3)
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and phase (default 25)
#   SCHEMATHESIS_SEED          seed of the generated data (default fixed; "random" for a new one)
#   SCHEMATHESIS_OUT           output directory (default .tmp/schemathesis/<timestamp>)
#   SCHEMATHESIS_BUILD         auto | always | never (default auto: build when dist is missing or older than sources)
#   SCHEMATHESIS_TIMEOUT       seconds to wait for the server to answer (default 90)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
n24="$root/scripts/with-node24.sh"

version="${SCHEMATHESIS_VERSION:-4.32.5}"
python="${SCHEMATHESIS_PYTHON:-python3}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
seed="${SCHEMATHESIS_SEED:-20261203}"
build="${SCHEMATHESIS_BUILD:-auto}"
wait_s="${SCHEMATHESIS_TIMEOUT:-90}"
out="${SCHEMATHESIS_OUT:-$root/.tmp/schemathesis/$(date -u +%Y%m%dT%H%M%SZ)}"
checks=not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,response_headers_conformance
venv="$root/.tools/schemathesis-$version"

exec </dev/null
mkdir -p "$out"
log() { echo "schemathesis: $*" >&2; }
# shellcheck source=scripts/lib/test-server.sh
. "$root/scripts/lib/test-server.sh"

# --- the pinned schemathesis in its own venv; a venv whose install did not finish is made again
if [ ! -f "$venv/.installed" ]; then
  log "installing schemathesis $version into ${venv#"$root"/}"
  rm -rf "$venv"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    { log "$python is older than 3.11; set SCHEMATHESIS_PYTHON to a newer one"; exit 1; }
  "$python" -m venv "$venv" ||
    { log "$python cannot make a venv with pip (on Debian: apt-get install python3-venv)"; exit 1; }
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
    "schemathesis==$version" >"$out/pip.log" 2>&1 || { cat "$out/pip.log" >&2; log "pip install failed"; exit 1; }
  touch "$venv/.installed"
fi
st="$venv/bin/schemathesis"

build_if_stale "$build" SCHEMATHESIS_BUILD

# --- the server, with message rate limits high enough that posts reach the bot rather than stop at
# 429 (still documented)
trap stop_test_server EXIT
trap 'exit 130' INT TERM
start_test_server schemathesis /api/v1/health "$wait_s" \
  AUTH_MODE=open MESSAGE_RATE_PER_MINUTE=100000 MESSAGE_RATE_BURST=10000
base="$test_server_base"

# --- a token and a channel to test against (KEY='value' lines of a checked character set)
"$n24" node "$root/test/schemathesis/seed.mjs" "$base" >"$out/seed.env" 2>"$out/seed.log" ||
  { cat "$out/seed.log" >&2; log "seeding failed"; exit 1; }
set -a
# shellcheck disable=SC1091
. "$out/seed.env"
set +a

# --- the run
seed_args=()
[ "$seed" = random ] || seed_args=(--seed "$seed")
log "running schemathesis $version against $base/api/v1/openapi.json (max $max_examples examples)"
set +e
"$st" --no-color --config-file "$root/test/schemathesis/schemathesis.toml" run "$base/api/v1/openapi.json" \
  --checks "$checks" --max-examples "$max_examples" "${seed_args[@]}" --request-timeout 30 \
  -H "Authorization: Bearer $SCHEMATHESIS_TOKEN" \
  --report junit --report-dir "$out" 2>&1 | tee "$out/output.txt"
status=${PIPESTATUS[0]}
set -e

stop_test_server
if [ "$status" -eq 0 ]; then
  log "OK. Results in $out"
else
  log "FAILED (exit $status). Results in $out; the server's log is $out/server.log"
fi
exit "$status"
