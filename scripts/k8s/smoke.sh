#!/usr/bin/env bash
# Smoke test of the cluster that scripts/k8s/cluster.sh runs: builds and starts it when needed, then
# checks, against the real API server and node:
#   1. a Pod Security "restricted" pod from a locally built image (imported with import-image) runs
#      under gVisor (runtimeClassName: gvisor) and /proc/version inside says so;
#   2. a namespace labelled pod-security.kubernetes.io/enforce=restricted refuses a privileged pod
#      (server side), while an unlabelled namespace accepts it (so the refusal is Pod Security's);
#   3. a Service routes to a pod through kube-proxy, found by its DNS name through CoreDNS;
#   4. a default-deny NetworkPolicy blocks that traffic, and a policy allowing it lets it through again.
# Prints the cluster's start time and pods' time to Ready, and ends with "smoke: N passed, N failed".
#
# Usage: scripts/k8s/smoke.sh [--stop]   (--stop: stop the cluster afterwards)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cluster="$here/cluster.sh"
NS=mpk8s-smoke
OPEN_NS=mpk8s-smoke-open

log() { echo "[smoke $(date +%T)] $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b - a}'; }

# ------------------------------------------------------------------------------ inside the cluster's namespace
# Everything below runs through `cluster.sh exec`, so kubectl reaches the API server at 127.0.0.1.
passed=0 failed=0
check() { # NAME CMD...: one assertion
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); log "PASS $name"; else failed=$((failed + 1)); log "FAIL $name"; fi
}

# The securityContext that Pod Security "restricted" demands, as a pod spec fragment.
hardened_pod() { # NAME IMAGE LABEL RUNTIMECLASS COMMAND
  cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $NS, labels: {app: $3}}
spec:
  runtimeClassName: $4
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: 1
  securityContext:
    runAsNonRoot: true
    runAsUser: 65534
    runAsGroup: 65534
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: main
    image: $2
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "$5"]
    resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 64Mi}}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
    volumeMounts: [{name: tmp, mountPath: /tmp}]
  volumes: [{name: tmp, emptyDir: {medium: Memory, sizeLimit: 16Mi}}]
EOF
}

privileged_pod() { # NAMESPACE
  cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: privileged, namespace: $1}
spec:
  containers:
  - {name: main, image: docker.io/local/busybox:1, imagePullPolicy: Never, command: ["sleep", "3600"],
     securityContext: {privileged: true}}
EOF
}

accepted_dry_run() { privileged_pod "$1" | kubectl apply --dry-run=server -f - >/dev/null; }
# An HTTP GET from the client pod to HOST:PORT; succeeds when the web pod answers within 3 s.
# nc, not wget: Debian's busybox-static wget crashes (SIGSEGV) in any container and on the host.
fetch() {
  kubectl -n "$NS" exec client -- sh -c "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $1 $2" 2>/dev/null |
    grep hello-from-web >/dev/null
}
# Poll CMD for up to SECONDS until it succeeds (policy changes take effect asynchronously).
eventually() { local secs=$1 end; shift; end=$((SECONDS + secs)); until "$@"; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.5; done; }
not() { ! "$@"; }

in_cluster() {
  local image=$1
  kubectl delete namespace "$NS" "$OPEN_NS" --ignore-not-found --wait=true --timeout=120s >/dev/null
  kubectl create namespace "$NS" >/dev/null
  kubectl label namespace "$NS" pod-security.kubernetes.io/enforce=restricted \
    pod-security.kubernetes.io/enforce-version=latest >/dev/null
  kubectl create namespace "$OPEN_NS" >/dev/null

  # 1. A hardened pod under gVisor, from the image this script built and imported.
  local t0; t0=$(now)
  hardened_pod client "$image" client gvisor 'cat /proc/version; id; sleep 3600' | kubectl apply -f - >/dev/null
  kubectl -n "$NS" wait --for=condition=Ready pod/client --timeout=120s >/dev/null
  local ready; ready=$(since "$t0")
  log "gVisor pod Ready ${ready} s after kubectl apply"
  echo "pod_ready_seconds=$ready" >>"$TIMINGS"
  local version; version=$(kubectl -n "$NS" exec client -- cat /proc/version)
  log "/proc/version in the pod: $version"
  check "hardened pod runs under gVisor (/proc/version)" grep -qi gvisor <<<"$version"
  check "pod runs as uid 65534" test "$(kubectl -n "$NS" exec client -- id -u)" = 65534
  check "root filesystem is read-only" not kubectl -n "$NS" exec client -- touch /probe

  # 2. Pod Security: refused (server side) in the restricted namespace, accepted in an open one.
  local out
  out=$(privileged_pod "$NS" | kubectl apply --dry-run=server -f - 2>&1) && out="ACCEPTED: $out"
  log "privileged pod in $NS: $out"
  check "restricted namespace refuses a privileged pod" grep -q 'violates PodSecurity' <<<"$out"
  check "unlabelled namespace accepts the same pod" accepted_dry_run "$OPEN_NS"

  # 3. A Service in front of a web pod, reached by name from the client pod.
  t0=$(now)
  hardened_pod web "$image" web gvisor \
    'mkdir -p /tmp/www && echo hello-from-web >/tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www' |
    kubectl apply -f - >/dev/null
  kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: web, namespace: $NS}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, protocol: TCP}]
EOF
  kubectl -n "$NS" wait --for=condition=Ready pod/web --timeout=120s >/dev/null
  log "web pod Ready $(since "$t0") s after kubectl apply"
  local resolved
  resolved=$(kubectl -n "$NS" exec client -- nslookup "web.$NS.svc.cluster.local" 2>&1 || true)
  local svc_ip; svc_ip=$(kubectl -n "$NS" get service web -o jsonpath='{.spec.clusterIP}')
  check "DNS resolves web.$NS.svc.cluster.local to the Service's address ($svc_ip)" grep -q "Address: $svc_ip" <<<"$resolved"
  check "the Service routes to the web pod (web:80 by name, via kube-proxy)" eventually 20 fetch web 80

  # 4. NetworkPolicy: default deny blocks it; an explicit allow opens it again.
  kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: $NS}
spec:
  podSelector: {}
  policyTypes: [Ingress]
EOF
  check "a default-deny NetworkPolicy blocks client -> web" eventually 30 not fetch web 80
  kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-to-web, namespace: $NS}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 8080, protocol: TCP}]
EOF
  check "a policy allowing client -> web:8080 lets it through again" eventually 30 fetch web 80

  kubectl delete namespace "$NS" "$OPEN_NS" --wait=false >/dev/null
  echo "smoke: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

if [ "${1:-}" = "--in-cluster" ]; then
  TIMINGS=$3
  in_cluster "$2"
  exit
fi

# ------------------------------------------------------------------------------ on the host
stop_after=no
[ "${1:-}" = "--stop" ] && stop_after=yes

"$cluster" build
if "$cluster" status >/dev/null 2>&1; then
  log "cluster already running"
  start_s="(already running)"
else
  t0=$(now)
  "$cluster" start >/dev/null
  start_s=$(since "$t0")
fi

# A tiny image of our own, built here and imported as an OCI archive: busybox and a marker file.
work=$(mktemp -d /tmp/mpk8s-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$work/rootfs/bin/$a"; done
printf 'nobody:x:65534:65534:nobody:/:/bin/sh\n' >"$work/rootfs/etc/passwd"
printf 'nobody:x:65534:\n' >"$work/rootfs/etc/group"
echo "built by scripts/k8s/smoke.sh" >"$work/rootfs/etc/mpk8s-smoke"
umoci init --layout "$work/oci" && umoci new --image "$work/oci:1"
umoci unpack --image "$work/oci:1" "$work/bundle" >/dev/null
cp -a "$work/rootfs/." "$work/bundle/rootfs/"
umoci repack --image "$work/oci:1" "$work/bundle" >/dev/null
umoci config --image "$work/oci:1" --config.entrypoint /bin/sh --config.env PATH=/bin
skopeo copy --quiet "oci:$work/oci:1" "oci-archive:$work/smoke.tar:1"
image=$("$cluster" import-image "$work/smoke.tar" local/mpk8s-smoke:1)

timings="$work/timings"
: >"$timings"
rc=0
"$cluster" exec -- bash "$here/smoke.sh" --in-cluster "$image" "$timings" || rc=$?
log "timings: cluster start ${start_s} s; gVisor pod Ready $(sed -n 's/pod_ready_seconds=//p' "$timings") s"
[ "$stop_after" = yes ] && "$cluster" stop
exit "$rc"
