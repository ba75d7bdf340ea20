#!/usr/bin/env bash
# Stages the API image's file tree, one directory per layer, under OUT (docs/images.md):
#   OUT/base  as in the runner image (the same bytes, so the same layer digest)
#   OUT/node  as in the runner image
#   OUT/deps  /app/node_modules: the production dependencies at the lockfile's versions
#             (npm ci --omit=dev in a staging directory), without type declarations, source maps,
#             READMEs, and isolated-vm's sources and other platforms' addons
#   OUT/app   /app/package.json (for the `#` imports) and /app/dist: apps/api, apps/bot-runner
#             (BOT_LAUNCHER=process starts it) and libs, without source maps
# Both ways of building the image use it: scripts/images/build-api-image.sh on this machine, and
# deploy/images/api/Dockerfile in its build stage.
#
# Usage: scripts/images/stage-api-rootfs.sh OUT
# Needs a built dist/ (npm run build). IMAGES_SOURCE: the checkout to take it from (default: this one).
set -euo pipefail
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] || die "usage: stage-api-rootfs.sh OUT"
out=$1
need ldd strip npm tar dpkg-query
cd "$images_source"
for built in dist/apps/api/src/main.js dist/apps/api/src/admin.js dist/apps/bot-runner/src/main.js; do
  [ -f "$built" ] || die "$built is missing: run npm run build (make build) first"
done

rm -rf "$out"
mkdir -p "$out/base" "$out/node" "$out/deps/app" "$out/app/app"
node_pkg="$(fetch_node)"
node="$node_pkg/bin/node"

# Production dependencies exactly as the lockfile has them. No install scripts: the only
# dependency with one is isolated-vm, whose addon for this Node ships prebuilt.
log "installing the production dependencies (npm ci --omit=dev)"
deps="$out/deps/app"
cp package.json package-lock.json "$deps/"
(cd "$deps" && "$n24" npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline \
  --loglevel=error >&2) || die "npm ci --omit=dev failed"
rm -f "$deps/package.json" "$deps/package-lock.json" "$deps/node_modules/.package-lock.json"
ivm_addon="$(prune_isolated_vm "$node" "$deps/node_modules/isolated-vm")"
# Nothing Node loads: declarations, TypeScript sources, source maps, prose.
find "$deps/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -iname 'README*' \
  -o -iname 'CHANGELOG*' -o -iname 'HISTORY*' \) -delete
find "$deps/node_modules" -depth -type d -empty -delete

# The built code, and a package.json with what Node reads at run time: the module type and the
# `#` imports (their "default" targets are in dist/).
log "copying dist/ (apps/api, apps/bot-runner, libs)"
mkdir -p "$out/app/app/dist/apps"
cp -R dist/apps/api dist/apps/bot-runner "$out/app/app/dist/apps/"
cp -R dist/libs "$out/app/app/dist/libs"
find "$out/app/app/dist" -type f -name '*.map' -delete
"$node" -e '
  const { readFileSync, writeFileSync } = require("node:fs");
  const pkg = JSON.parse(readFileSync("package.json", "utf8"));
  const keep = { name: pkg.name, version: pkg.version, private: true, type: pkg.type, engines: pkg.engines, imports: pkg.imports };
  writeFileSync(process.argv[1], JSON.stringify(keep, null, 2) + "\n");
' "$out/app/app/package.json"

stage_node "$out/node" "$node_pkg"
stage_base "$out/base" "$out/node/usr/local/bin/node" "$ivm_addon"
for layer in base node deps app; do normalize "$out/$layer"; done
log "staged the API image's tree under $out"
