#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server scenarios of
# spec 2025-11-25) against a freshly started API on a free port with a throw-away DATA_DIR
# (embedded PGlite, since DATABASE_URL is unset). The suite's client sends no access token, so it
# talks to test/conformance/bearer-proxy.mjs, which adds one obtained through the real OAuth
# endpoints (client credentials).
#
# Exits non-zero when a scenario fails that is not listed in test/conformance/expected-failures.txt,
# or when a listed scenario now passes (stale entry), or when the server does not come up.
# Unattended: no prompts, stdin is never read. Node 24 is used through scripts/with-node24.sh.
#
# Environment (all optional):
#   CONFORMANCE_VERSION  conformance package version (default: the pinned one below)
#   CONFORMANCE_SPEC     spec version to filter scenarios by (default 2025-11-25)
#   CONFORMANCE_SUITE    all | active | pending (default all: active + the suite's pending scenarios)
#   CONFORMANCE_PATHS    endpoint paths to test, space separated (default "/mcp /")
#   CONFORMANCE_OUT      output directory (default .tmp/conformance/<timestamp>)
#   CONFORMANCE_BUILD    auto | always | never (default auto: build when dist is missing or older than sources)
#   CONFORMANCE_TIMEOUT  seconds to wait for the server to answer (default 90)
#   CONFORMANCE_ALLOWLIST allow-list file (default test/conformance/expected-failures.txt)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
n24="$root/scripts/with-node24.sh"

version="${CONFORMANCE_VERSION:-0.1.16}"
spec="${CONFORMANCE_SPEC:-2025-11-25}"
suite="${CONFORMANCE_SUITE:-all}"
paths="${CONFORMANCE_PATHS:-/mcp /}"
build="${CONFORMANCE_BUILD:-auto}"
wait_s="${CONFORMANCE_TIMEOUT:-90}"
allow="${CONFORMANCE_ALLOWLIST:-$root/test/conformance/expected-failures.txt}"
out="${CONFORMANCE_OUT:-$root/.tmp/conformance/$(date -u +%Y%m%dT%H%M%SZ)}"

export npm_config_yes=true npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
exec </dev/null
mkdir -p "$out"
log() { echo "conformance: $*" >&2; }
# shellcheck source=scripts/lib/test-server.sh
. "$root/scripts/lib/test-server.sh"

# Runs the pinned conformance CLI (npx fetches it once into the npm cache).
conformance() { "$n24" npx --yes "@modelcontextprotocol/conformance@${version}" "$@"; }

# --- allow-list: one scenario per line, each with a '# reason'; converted to the tool's YAML baseline
baseline="$out/expected-failures.yml"
echo "server:" >"$baseline"
bad=0
while IFS= read -r line || [ -n "$line" ]; do
  name="$(printf '%s' "${line%%#*}" | tr -d '[:space:]')"
  [ -z "$name" ] && continue
  case "$line" in
    *"#"*[![:space:]]*) ;;
    *) log "expected-failures.txt: '$name' has no '# reason' comment"; bad=1 ;;
  esac
  echo "  - $name" >>"$baseline"
done <"$allow"

known="$(conformance list --server --spec-version "$spec" 2>/dev/null | sed -n 's/^  - \([^ ]*\).*/\1/p')"
[ -n "$known" ] || { log "could not list the suite's scenarios"; exit 1; }
for name in $(sed -n 's/^  - //p' "$baseline"); do
  grep -qx -- "$name" <<<"$known" || { log "expected-failures.txt: unknown scenario '$name'"; bad=1; }
done
[ "$bad" -eq 0 ] || exit 1

build_if_stale "$build" CONFORMANCE_BUILD

# --- the server
proxy_pid=""
stop_all() {
  if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; fi
  proxy_pid=""
  stop_test_server
}
trap stop_all EXIT
trap 'exit 130' INT TERM
start_test_server conformance / "$wait_s"
base="$test_server_base"

# --- the authorizing proxy in front of it
proxy_url_file="$out/proxy-url"
"$n24" node "$root/test/conformance/bearer-proxy.mjs" "$base" >"$proxy_url_file" 2>"$out/proxy.log" &
proxy_pid=$!
for _ in $(seq 1 100); do [ -s "$proxy_url_file" ] && break; sleep 0.1; done
[ -s "$proxy_url_file" ] || { log "the authorizing proxy did not start:"; cat "$out/proxy.log" >&2; exit 1; }
server_base="$base"
base="$(head -1 "$proxy_url_file")"
log "authorizing proxy on $base for $server_base"

# --- run the suite once per endpoint path
rc=0
for path in $paths; do
  tag="$(printf '%s' "$path" | tr -c 'A-Za-z0-9' '_' | sed 's/^_*$/root/; s/^_//')"
  dir="$out/$tag"
  mkdir -p "$dir"
  log "running @modelcontextprotocol/conformance@$version (suite $suite, spec $spec) against $base$path"
  set +e
  conformance server --url "$base$path" --suite "$suite" --spec-version "$spec" \
    --expected-failures "$baseline" -o "$dir/results" 2>&1 | tee "$dir/output.txt"
  status=${PIPESTATUS[0]}
  set -e
  echo "--- per scenario ($path) ---"
  "$n24" node "$root/test/conformance/report.mjs" "$dir/results" "$allow" "$dir/" "conformance $path" || true
  [ "$status" -eq 0 ] || rc=1
done

stop_all
if [ "$rc" -eq 0 ]; then
  log "OK: every failing scenario is allow-listed. Results in $out"
else
  log "FAILED: unexpected failures or stale allow-list entries (see above). Results in $out"
fi
exit "$rc"
