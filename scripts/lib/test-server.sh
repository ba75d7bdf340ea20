# shellcheck shell=bash
# Shared by scripts/conformance.sh and scripts/schemathesis.sh: the built API (dist/), built when
# stale, started for a test suite on a free loopback port with a throw-away DATA_DIR (embedded
# PGlite, since DATABASE_URL is unset), and stopped again. Sourced, never run.
#
# Before sourcing it, the caller sets out (its output directory, where build.log and server.log
# go) and defines log (its messages, on stderr); it sets the traps itself:
#   trap stop_test_server EXIT
#   trap 'exit 130' INT TERM

: "${out:?the script that sources test-server.sh sets out, its output directory}"
test_server_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
test_server_n24="$test_server_root/scripts/with-node24.sh"
test_server_main_js="$test_server_root/dist/apps/api/src/main.js"
test_server_pid=""
test_server_data_dir=""
# Where the started server answers, http://127.0.0.1:PORT (set by start_test_server).
test_server_base=""

# build_if_stale MODE SETTING: runs `npm run build` when MODE is always, or auto and main.js is
# missing or older than a source; never with never. Exits when main.js is still missing; SETTING
# names the variable MODE came from, for that message (e.g. CONFORMANCE_BUILD).
build_if_stale() {
  local mode="$1" setting="$2" r="$test_server_root"
  if [ "$mode" = always ] || { [ "$mode" = auto ] && {
    [ ! -f "$test_server_main_js" ] ||
      [ -n "$(find "$r/apps" "$r/libs" "$r/package.json" "$r/tsconfig.json" "$r/tsconfig.build.json" \
        -newer "$test_server_main_js" -type f -print -quit)" ]
  }; }; then
    log "building"
    (cd "$r" && "$test_server_n24" npm run build) >"$out/build.log" 2>&1 ||
      { cat "$out/build.log" >&2; log "build failed"; exit 1; }
    # tsc leaves an output it would write unchanged as it is: mark the build as this one.
    [ -f "$test_server_main_js" ] && touch "$test_server_main_js"
  fi
  [ -f "$test_server_main_js" ] || { log "$test_server_main_js is missing ($setting=$mode)"; exit 1; }
}

# start_test_server NAME READY_PATH SECONDS [VAR=VALUE...]: starts main.js on 127.0.0.1 at a free
# port (PUBLIC_URL to match, LOG_LEVEL from the environment or warn) with a new DATA_DIR
# (${TMPDIR:-/tmp}/mcp-NAME-data.XXXXXX) and the given settings on top, its output in
# $out/server.log; returns once READY_PATH answers 2xx. Exits with the server's log when the server
# ends or does not answer within SECONDS. Sets test_server_base.
start_test_server() {
  local name="$1" ready_path="$2" seconds="$3" port
  shift 3
  port="$("$test_server_n24" node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  test_server_data_dir="$(mktemp -d "${TMPDIR:-/tmp}/mcp-$name-data.XXXXXX")"
  test_server_base="http://127.0.0.1:$port"
  log "starting the server on 127.0.0.1:$port (DATA_DIR=$test_server_data_dir), log: $out/server.log"
  env -u DATABASE_URL DATA_DIR="$test_server_data_dir" HOST=127.0.0.1 PORT="$port" \
    PUBLIC_URL="$test_server_base" LOG_LEVEL="${LOG_LEVEL:-warn}" "$@" \
    "$test_server_n24" node --no-node-snapshot --enable-source-maps "$test_server_main_js" \
    >"$out/server.log" 2>&1 &
  test_server_pid=$!

  if ! "$test_server_n24" node -e '
    const [url, seconds, pid] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
    const deadline = Date.now() + seconds * 1000;
    const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
    (async () => {
      while (Date.now() < deadline && alive()) {
        try { if ((await fetch(url)).ok) process.exit(0); } catch {}
        await new Promise((r) => setTimeout(r, 250));
      }
      process.exit(1);
    })();' "$test_server_base$ready_path" "$seconds" "$test_server_pid"; then
    log "the server exited or did not answer on $test_server_base$ready_path within ${seconds}s; its log:"
    cat "$out/server.log" >&2
    exit 1
  fi
}

# stop_test_server: TERM to the server, KILL after 5 s, then its DATA_DIR removed. Safe to call
# again, and before start_test_server.
stop_test_server() {
  if [ -n "$test_server_pid" ] && kill -0 "$test_server_pid" 2>/dev/null; then
    kill "$test_server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$test_server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$test_server_pid" 2>/dev/null || true
    wait "$test_server_pid" 2>/dev/null || true
  fi
  test_server_pid=""
  if [ -n "$test_server_data_dir" ]; then rm -rf "$test_server_data_dir"; fi
  test_server_data_dir=""
}
