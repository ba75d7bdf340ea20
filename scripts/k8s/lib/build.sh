# `cluster.sh build`: Debian packages, then every Go component from the Go module proxy, each cached
# under $CACHE/<component>-<version>/ and skipped when it is there. Sourced by cluster.sh.
#
# A component is built into <dir>.partial and renamed when complete, so an interrupted build is
# redone rather than half-used. Each build's `/usr/bin/time -v` report is kept in <dir>/build-*.time
# and summarised in $CACHE/build-times.txt.

# Debian packages the cluster uses. etcd 3.4 works with the 1.35 apiserver; Debian's containerd (1.6)
# and runsc (2022) are not used: the current gVisor shim needs containerd 2.
APT_PACKAGES=(etcd-server etcd-client runc containernetworking-plugins umoci skopeo busybox-static
  iptables ipset conntrack openssl iproute2 util-linux time)

install_apt_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "apt: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

check_go() {
  command -v go >/dev/null || die "needs Go >= 1.26 on PATH (CoreDNS $COREDNS_VERSION requires go 1.26)"
  local v; v=$(go env GOVERSION); v=${v#go}
  [ "$(printf '%s\n1.26\n' "$v" | sort -V | head -1)" = 1.26 ] || die "needs Go >= 1.26, found $v"
}

# go, niced, single-threaded unless MP_K8S_BUILD_JOBS says otherwise, static, no toolchain download.
GO=(env GOTOOLCHAIN=local GOMAXPROCS="$BUILD_JOBS" CGO_ENABLED=0 GOFLAGS=-buildvcs=false nice -n 19 go)

# timed NAME DIR CMD...: run CMD under /usr/bin/time -v, keep the report in DIR/build-NAME.time.
timed() {
  local name=$1 dir=$2; shift 2
  local report="$dir/build-$name.time" out="$CACHE/logs/build-$name.log"
  mkdir -p "$CACHE/logs"
  log "building $name (log: $out)"
  if ! /usr/bin/time -v -o "$report" "$@" >"$out" 2>&1; then
    tail -40 "$out" >&2
    die "build of $name failed (full log: $out)"
  fi
  local wall user sys rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/{print $2}' "$report")
  user=$(awk -F': ' '/User time/{print $2}' "$report")
  sys=$(awk -F': ' '/System time/{print $2}' "$report")
  rss=$(awk -F': ' '/Maximum resident/{printf "%d", $2/1024}' "$report")
  printf '%s\t%s\twall %s\tuser %ss\tsys %ss\tmaxrss %s MiB\tjobs %s\n' \
    "$(date -u +%FT%TZ)" "$name" "$wall" "$user" "$sys" "$rss" "$BUILD_JOBS" >>"$CACHE/build-times.txt"
  log "built $name: wall $wall, cpu ${user}s user + ${sys}s sys, max RSS $rss MiB"
}

# have DIR FILE...: true when DIR holds every FILE (the component is cached).
have() { local d=$1 f; shift; for f in "$@"; do [ -x "$d/$f" ] || return 1; done; }

fresh_partial() { rm -rf "$1.partial"; mkdir -p "$1.partial"; }
finish() { rm -rf "$1"; mv "$1.partial" "$1"; }

# ---------------------------------------------------------------------------------------- Kubernetes
# `go install k8s.io/kubernetes/cmd/...@v1.x` fails: kubernetes' go.mod replaces its staging modules
# with ./staging/... paths. A wrapper module requires k8s.io/kubernetes and repeats every replace with
# the published staging version (k8s.io/api => k8s.io/api v0.35.4, ...).
build_kubernetes() {
  local dir; dir=$(k8s_dir)
  have "$dir" kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl && return 0
  fresh_partial "$dir"
  local src="$CACHE/src/kubernetes-$K8S_VERSION" staging="v0.${K8S_VERSION#v1.}"
  mkdir -p "$src"
  "${GO[@]}" mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
  local mod; mod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.mod"
  {
    echo "module mpk8s/kubernetes"
    echo
    echo "go $(awk '/^go /{print $2}' "$mod")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n '/^replace (/,/^)/p' "$mod" | grep '=> ./staging' |
      awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } >"$src/go.mod"
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    ld+=" -X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  # The apiserver first (it pays for most shared packages), then the rest from the warm build cache.
  (cd "$src" && timed kube-apiserver "$dir.partial" "${GO[@]}" build -mod=mod -p "$BUILD_JOBS" -trimpath \
    -ldflags "$ld" -o "$dir.partial/" k8s.io/kubernetes/cmd/kube-apiserver)
  (cd "$src" && timed kube-node "$dir.partial" "${GO[@]}" build -mod=mod -p "$BUILD_JOBS" -trimpath \
    -ldflags "$ld" -o "$dir.partial/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl)
  finish "$dir"
}

# ---------------------------------------------------------------------------------------- containerd
build_containerd() {
  local dir; dir=$(containerd_dir)
  have "$dir" containerd containerd-shim-runc-v2 ctr && return 0
  fresh_partial "$dir"
  local p=github.com/containerd/containerd/v2/cmd
  timed containerd "$dir.partial" env GOBIN="$dir.partial" "${GO[@]}" install -p "$BUILD_JOBS" -trimpath \
    -tags "no_btrfs no_devmapper no_zfs" \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
    "$p/containerd@$CONTAINERD_VERSION" "$p/containerd-shim-runc-v2@$CONTAINERD_VERSION" "$p/ctr@$CONTAINERD_VERSION"
  finish "$dir"
}

# ---------------------------------------------------------------------------------------- gVisor
# runsc and its containerd shim, with one patch: the shim sets its own oom_score_adj to -999 and
# gives up when that is refused. Here root lacks CAP_SYS_RESOURCE, so every sandbox start would fail;
# the patched shim carries on with its inherited score.
build_gvisor() {
  local dir; dir=$(gvisor_dir)
  have "$dir" runsc containerd-shim-runsc-v1 && return 0
  fresh_partial "$dir"
  local src="$CACHE/src/gvisor-$GVISOR_VERSION"
  rm -rf "$src"; mkdir -p "$src"
  "${GO[@]}" mod download -json "gvisor.dev/gvisor@$GVISOR_VERSION" >/dev/null
  local mod; mod="$(go env GOMODCACHE)/gvisor.dev/gvisor@$GVISOR_VERSION"
  cp -r "$mod" "$src/gvisor"; chmod -R u+w "$src/gvisor"
  local f="$src/gvisor/pkg/shim/v1/manager.go"
  local old='if err := sys.SetOOMScore(cmd.Process.Pid, oomScoreMax); err != nil {'
  grep -qF "$old" "$f" || die "gVisor's shim no longer has the OOM-score call patched here; check $f"
  sed -i 's/if err := sys.SetOOMScore(cmd.Process.Pid, oomScoreMax); err != nil {/if err := sys.SetOOMScore(cmd.Process.Pid, oomScoreMax); err != nil \&\& !os.IsPermission(err) {/' "$f"
  grep -q '!os.IsPermission(err)' "$f" || die "patching $f failed"
  printf 'module mpk8s/gvisor\n\ngo %s\n\nrequire gvisor.dev/gvisor %s\n\nreplace gvisor.dev/gvisor => ./gvisor\n' \
    "$(awk '/^go /{print $2}' "$src/gvisor/go.mod")" "$GVISOR_VERSION" >"$src/go.mod"
  (cd "$src" && timed gvisor "$dir.partial" "${GO[@]}" build -mod=mod -p "$BUILD_JOBS" -trimpath -ldflags "-s -w" \
    -o "$dir.partial/" gvisor.dev/gvisor/runsc gvisor.dev/gvisor/shim)
  mv "$dir.partial/shim" "$dir.partial/containerd-shim-runsc-v1"
  finish "$dir"
}

# ---------------------------------------------------------------------------------------- CoreDNS
# CoreDNS's own main links every plugin (and with them every cloud SDK). The cluster needs a few, so a
# wrapper main links only those; the plugin order stays CoreDNS's own (dnsserver.Directives).
build_coredns() {
  local dir; dir=$(coredns_dir)
  have "$dir" coredns && return 0
  fresh_partial "$dir"
  local src="$CACHE/src/coredns-$COREDNS_VERSION"
  rm -rf "$src"; mkdir -p "$src"
  "${GO[@]}" mod download -json "github.com/coredns/coredns@$COREDNS_VERSION" >/dev/null
  local mod; mod="$(go env GOMODCACHE)/cache/download/github.com/coredns/coredns/@v/$COREDNS_VERSION.mod"
  printf 'module mpk8s/coredns\n\ngo %s\n\nrequire github.com/coredns/coredns %s\n' \
    "$(awk '/^go /{print $2}' "$mod")" "$COREDNS_VERSION" >"$src/go.mod"
  cat >"$src/main.go" <<'EOF'
// CoreDNS with the plugins the test cluster's Corefile uses.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() { coremain.Run() }
EOF
  (cd "$src" && timed coredns "$dir.partial" "${GO[@]}" build -mod=mod -p "$BUILD_JOBS" -trimpath -ldflags "-s -w" \
    -o "$dir.partial/coredns" .)
  finish "$dir"
}

# ---------------------------------------------------------------------------------------- kube-router
# Only its firewall (NetworkPolicy) controller runs; routing and the service proxy stay off.
build_kube_router() {
  local dir; dir=$(kube_router_dir)
  have "$dir" kube-router && return 0
  fresh_partial "$dir"
  local v=github.com/cloudnativelabs/kube-router/v2/pkg/version
  timed kube-router "$dir.partial" env GOBIN="$dir.partial" "${GO[@]}" install -p "$BUILD_JOBS" -trimpath \
    -ldflags "-s -w -X $v.Version=$KUBE_ROUTER_VERSION -X $v.BuildDate=$(date -u +%FT%TZ)" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
  finish "$dir"
}

# ---------------------------------------------------------------------------------------- pause
# containerd's sandbox ("pause") image normally comes from a registry. This one sleeps, reaps
# children and exits on SIGINT/SIGTERM, which is all a sandbox's first process has to do.
build_pause() {
  local dir; dir=$(pause_dir)
  have "$dir" pause && return 0
  fresh_partial "$dir"
  local src="$CACHE/src/pause-$PAUSE_VERSION"
  rm -rf "$src"; mkdir -p "$src"
  printf 'module mpk8s/pause\n\ngo 1.26\n' >"$src/go.mod"
  cat >"$src/main.go" <<'EOF'
// A pod sandbox's first process: sleeps, reaps children, exits 0 on SIGINT or SIGTERM.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
EOF
  (cd "$src" && timed pause "$dir.partial" "${GO[@]}" build -p "$BUILD_JOBS" -trimpath -ldflags "-s -w" \
    -o "$dir.partial/pause" .)
  finish "$dir"
}

# ---------------------------------------------------------------------------------------- images
# No registry: a rootfs is packed with umoci and written as a docker-archive with skopeo, which
# `ctr images import` reads. Pods use these with imagePullPolicy: Never.
make_image() { # NAME TAG ROOTFS OUT ENTRYPOINT...
  local name=$1 tag=$2 rootfs=$3 out=$4; shift 4
  local w; w=$(mktemp -d "$(images_dir).partial/work.XXXXXX")
  umoci init --layout "$w/oci"
  umoci new --image "$w/oci:$tag"
  umoci unpack --image "$w/oci:$tag" "$w/bundle" >/dev/null
  cp -a "$rootfs"/. "$w/bundle/rootfs/"
  umoci repack --image "$w/oci:$tag" "$w/bundle" >/dev/null
  local args=() e
  for e in "$@"; do args+=(--config.entrypoint "$e"); done
  umoci config --image "$w/oci:$tag" "${args[@]}" --config.workingdir / \
    --config.env PATH=/usr/local/bin:/usr/bin:/bin
  skopeo copy --quiet "oci:$w/oci:$tag" "docker-archive:$out:docker.io/local/$name:$tag"
  rm -rf "$w"
}

build_images() {
  local dir; dir=$(images_dir)
  [ -f "$dir/pause.tar" ] && [ -f "$dir/busybox.tar" ] && return 0
  fresh_partial "$dir"
  local r="$dir.partial/rootfs-pause"
  mkdir -p "$r"; cp "$(pause_dir)/pause" "$r/pause"
  make_image pause "$PAUSE_VERSION" "$r" "$dir.partial/pause.tar" /pause
  # busybox: a shell, wget, nc, nslookup and httpd for the smoke test, as a tiny image.
  r="$dir.partial/rootfs-busybox"
  mkdir -p "$r/bin" "$r/etc" "$r/tmp"
  cp /bin/busybox "$r/bin/busybox"
  local a
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$r/etc/group"
  make_image busybox "$IMAGES_VERSION" "$r" "$dir.partial/busybox.tar" /bin/sh
  rm -rf "$dir.partial"/rootfs-*
  finish "$dir"
}

build_all() {
  install_apt_packages
  check_go
  mkdir -p "$CACHE"
  local started=$SECONDS
  build_pause
  build_images
  build_coredns
  build_kube_router
  build_containerd
  build_gvisor
  build_kubernetes
  log "build done in $((SECONDS - started)) s; binaries under $CACHE"
}
