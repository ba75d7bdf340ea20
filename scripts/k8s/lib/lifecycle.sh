# `cluster.sh start | stop | status | exec | import-image`. Sourced by cluster.sh.
#
# Layout of a running cluster:
# - network namespace $NETNS: every daemon, every pod and every test client talk to each other here.
#   The node address, pod and service ranges exist only inside it; `stop` deletes it.
# - one mount namespace (a slave of the host's), shared by all daemons: their mounts (overlay roots,
#   volumes, pod network namespaces) and a private /run never appear in the host's mount table, and
#   vanish with the last daemon.
# - state directory $S (a temp dir named in $STATE_FILE): certificates, configs, logs, pid files,
#   etcd and containerd data. `stop` deletes it.
# - cgroups /sys/fs/cgroup/*/$NETNS: the pods'. `stop` removes them.

# Daemons in start order; `stop` goes through them backwards.
DAEMONS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy coredns kube-router)

load_state() {
  S=
  [ -f "$STATE_FILE" ] || return 1
  S=$(sed -n 's/^STATE_DIR=//p' "$STATE_FILE")
  [ -n "$S" ] && [ -d "$S" ]
}

pid_of() { [ -f "$S/run/$1.pid" ] && cat "$S/run/$1.pid"; }
alive() { local p; p=$(pid_of "$1") && [ -n "$p" ] && running "$p"; }
cluster_running() { load_state && [ -e "/run/netns/$NETNS" ] && alive kube-apiserver && alive kubelet; }

require_built() {
  have "$(k8s_dir)" kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl &&
    have "$(containerd_dir)" containerd containerd-shim-runc-v2 ctr &&
    have "$(gvisor_dir)" runsc containerd-shim-runsc-v1 &&
    have "$(coredns_dir)" coredns && have "$(kube_router_dir)" kube-router &&
    [ -f "$(images_dir)/pause.tar" ] && [ -f "$(images_dir)/busybox.tar" ] &&
    command -v etcd >/dev/null && command -v ipset >/dev/null && command -v iptables >/dev/null ||
    die "not built (or apt packages missing): run $here/cluster.sh build first"
}

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}'; }

# ------------------------------------------------------------------------------------------- start
cmd_start() {
  if cluster_running; then
    log "already running (state $S)"
    echo "$S/admin.kubeconfig"
    return 0
  fi
  if [ -f "$STATE_FILE" ] || [ -e "/run/netns/$NETNS" ]; then
    log "a previous run was left behind; cleaning it up first"
    cmd_stop
  fi
  require_built
  local t0; t0=$(date +%s.%N)
  S=$(mktemp -d "/tmp/$NETNS.XXXXXX")
  chmod 0755 "$S"
  mkdir -p "$S/logs" "$S/run" "$S/var"
  printf 'STATE_DIR=%s\nKUBECONFIG=%s\nNETNS=%s\n' "$S" "$S/admin.kubeconfig" "$NETNS" >"$STATE_FILE"
  write_configs
  make_netns
  make_cgroups
  if ! nsenter --net="/run/netns/$NETNS" -- unshare --mount --propagation slave -- \
      "$here/cluster.sh" _up "$S"; then
    log "start failed; logs are in $S/logs (run '$here/cluster.sh stop' to clean up)"
    return 1
  fi
  local took; took=$(elapsed "$t0")
  echo "$took" >"$S/run/start-seconds"
  log "cluster up in ${took} s; run commands in it with: $here/cluster.sh exec -- kubectl get nodes"
  echo "$S/admin.kubeconfig"
}

make_netns() {
  # iproute2 turns /run/netns into a mount point on first use; stop undoes that only if it did it.
  [ -d /run/netns ] || echo "created" >"$S/run/netns-dir"
  mountpoint -q /run/netns 2>/dev/null || echo "mounted" >>"$S/run/netns-dir"
  [ -d /run/mount ] || echo "libmount" >>"$S/run/netns-dir"   # umount of /run/netns makes /run/mount
  ip netns add "$NETNS"
  ip -n "$NETNS" link set lo up
  # The node's "uplink": a veth pair with both ends inside the namespace. The default route points
  # at an address nobody holds, so there is a route for service addresses and nothing ever leaves.
  ip -n "$NETNS" link add "${NETNS}0" type veth peer name "${NETNS}1"
  ip -n "$NETNS" addr add "$NODE_IP/24" dev "${NETNS}0"
  ip -n "$NETNS" link set "${NETNS}0" up
  ip -n "$NETNS" link set "${NETNS}1" up
  ip -n "$NETNS" route add default via "$NODE_GW" dev "${NETNS}0"
  in_netns sysctl -qw net.ipv4.ip_forward=1
}

make_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/; do
    mountpoint -q "$d" || continue
    mkdir -p "$d$NETNS"
  done
  # A new cpuset cgroup starts with no CPUs and no memory nodes; give it the parent's.
  if [ -d /sys/fs/cgroup/cpuset/"$NETNS" ]; then
    cat /sys/fs/cgroup/cpuset/cpuset.cpus >/sys/fs/cgroup/cpuset/"$NETNS"/cpuset.cpus
    cat /sys/fs/cgroup/cpuset/cpuset.mems >/sys/fs/cgroup/cpuset/"$NETNS"/cpuset.mems
  fi
}

# daemon NAME CMD...: start in the background, in a session of its own, with a pid file and a log.
daemon() {
  local n=$1; shift
  setsid "$@" >"$S/logs/$n.log" 2>&1 </dev/null &
  echo $! >"$S/run/$n.pid"
}

# wait_for WHAT DAEMON SECONDS CMD...: poll CMD until it succeeds; fail early if DAEMON died.
wait_for() {
  local what=$1 d=$2 secs=$3; shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$d" ] && ! alive "$d"; then
      log "$d exited while waiting for $what; last lines of $S/logs/$d.log:"
      tail -25 "$S/logs/$d.log" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "timed out after ${secs}s waiting for $what"
      [ -n "$d" ] && tail -25 "$S/logs/$d.log" >&2
      return 1
    fi
    sleep 0.2
  done
}

K() { kubectl --kubeconfig "$S/admin.kubeconfig" "$@"; }

# Runs inside the network namespace and the new mount namespace; starts every daemon and waits
# until the node is Ready, DNS answers through the kube-dns Service and the policy enforcer is up.
cmd_up() {
  S=$1
  local t0; t0=$(date +%s.%N)
  export PATH; PATH=$(cluster_path)
  # Private /run, /var/lib and /var/log for the daemons: containerd's shim sockets, iptables' lock,
  # libcni's cache and kubelet's /var/log/containers links would otherwise land on the host.
  mount -t tmpfs -o mode=0755,size=64m "$NETNS-run" /run
  mkdir -p "$S/host/var-lib" "$S/host/var-log"
  mount --bind "$S/host/var-lib" /var/lib
  mount --bind "$S/host/var-log" /var/log
  readlink /proc/self/ns/mnt >"$S/run/mntns"
  local P=$S/pki

  daemon etcd etcd --name mpk8s --data-dir "$S/var/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster mpk8s=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381
  daemon containerd containerd --config "$S/containerd.toml"
  wait_for etcd etcd 30 curl -sf http://127.0.0.1:2379/health || return 1

  daemon kube-apiserver kube-apiserver --etcd-servers=http://127.0.0.1:2379 \
    --bind-address=0.0.0.0 --secure-port=6443 --advertise-address="$NODE_IP" \
    --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
    --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range="$SVC_CIDR" --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction \
    --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$P/apiserver-kubelet-client.key" --kubelet-certificate-authority="$P/ca.crt" \
    --kubelet-preferred-address-types=InternalIP --profiling=false \
    --allow-privileged=true   # Pod Security admission, not a blanket ban, decides per namespace
  # While the apiserver starts: containerd takes the locally built images.
  wait_for containerd containerd 30 ctr --address "$S/containerd.sock" version || return 1
  local img
  for img in pause busybox; do
    ctr --address "$S/containerd.sock" -n k8s.io images import "$(images_dir)/$img.tar" >/dev/null
  done
  daemon kubelet kubelet --config="$S/kubelet.yaml" --kubeconfig="$S/kubelet.kubeconfig" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --root-dir="$S/var/kubelet" --v=1

  wait_for "apiserver /readyz" kube-apiserver 60 \
    curl -sf --cacert "$P/ca.crt" https://127.0.0.1:6443/readyz || return 1
  log "apiserver ready after $(elapsed "$t0") s"
  # Only now: the controller-manager exits if the apiserver has not yet made its RBAC roles.
  daemon kube-controller-manager kube-controller-manager --kubeconfig="$S/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$S/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$S/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
    --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
    --service-cluster-ip-range="$SVC_CIDR" --cluster-cidr="$CLUSTER_CIDR" --profiling=false
  daemon kube-scheduler kube-scheduler --kubeconfig="$S/scheduler.kubeconfig" \
    --authentication-kubeconfig="$S/scheduler.kubeconfig" --authorization-kubeconfig="$S/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false
  cluster_objects >"$S/cluster-objects.yaml"
  wait_for "cluster objects" kube-apiserver 30 K apply -f "$S/cluster-objects.yaml" || return 1

  daemon kube-proxy kube-proxy --config="$S/kube-proxy.yaml"
  daemon coredns coredns -conf "$S/Corefile"
  wait_for "node registration" kubelet 60 K get node "$NODE_NAME" || return 1
  # kube-router reads its node's address at start, so it waits for the node object.
  daemon kube-router kube-router --kubeconfig="$S/kube-router.kubeconfig" --hostname-override="$NODE_NAME" \
    --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
    --service-cluster-ip-range="$SVC_CIDR" --health-port=20244 --metrics-port=0 --v=1

  wait_for "node Ready" kubelet 90 K wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s || return 1
  log "node Ready after $(elapsed "$t0") s"
  wait_for "the default ServiceAccount" kube-controller-manager 60 K -n default get serviceaccount default || return 1
  wait_for "CoreDNS ready" coredns 30 curl -sf http://127.0.0.1:8181/ready || return 1
  wait_for "DNS through the kube-dns Service" kube-proxy 60 \
    busybox nslookup kubernetes.default.svc.cluster.local "$DNS_IP" || return 1
  wait_for "kube-router" kube-router 60 curl -sf http://127.0.0.1:20244/healthz || return 1
  wait_for "kube-router's filter chains" kube-router 60 sh -c 'iptables -S KUBE-ROUTER-FORWARD' || return 1
  log "all components up after $(elapsed "$t0") s (inside the namespace)"
}

# ------------------------------------------------------------------------------------------- stop
# running PID: exists and is not a zombie. The daemons outlive the shell that started them, so a dead
# one waits as a zombie until this machine's init reaps it, which takes about 2 s here.
running() { local st; st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) && [ "${st%% *}" != Z ]; }

# stop_pids PID...: TERM, up to 2 s for all to exit, then KILL.
stop_pids() {
  local live=() p i
  for p in "$@"; do [ -n "$p" ] && kill "$p" 2>/dev/null && live+=("$p"); done
  for i in $(seq 1 10); do
    local still=()
    for p in "${live[@]}"; do running "$p" && still+=("$p"); done
    [ "${#still[@]}" -eq 0 ] && return 0
    live=("${still[@]}")
    sleep 0.2
  done
  kill -9 "${live[@]}" 2>/dev/null || true
}

# Every process this cluster started: those in its network namespace or its mount namespace, those
# in its cgroups, and gVisor sandboxes (which run in pods' namespaces) started from the cached runsc.
cluster_pids() {
  local netns mntns="" p exe runsc_dir
  runsc_dir=$(gvisor_dir)
  netns=$(stat -L -c 'net:[%i]' "/run/netns/$NETNS" 2>/dev/null || true)
  [ -n "$S" ] && [ -f "$S/run/mntns" ] && mntns=$(cat "$S/run/mntns")
  {
    for p in /proc/[0-9]*; do
      p=${p#/proc/}
      [ "$p" = $$ ] && continue
      if [ -n "$netns" ] && [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$netns" ]; then echo "$p"; continue; fi
      if [ -n "$mntns" ] && [ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$mntns" ]; then echo "$p"; continue; fi
      exe=$(readlink "/proc/$p/exe" 2>/dev/null || true)
      case "$exe" in "$runsc_dir"/*) echo "$p" ;; esac
    done
    find /sys/fs/cgroup/*/"$NETNS" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  } | sort -un | while read -r p; do running "$p" && echo "$p"; done
}

cmd_stop() {
  load_state || S=
  if [ -n "$S" ]; then
    # All at once: their data goes with the state directory, so a slow graceful shutdown buys nothing.
    local pids=() n
    for n in "${DAEMONS[@]}"; do pids+=("$(pid_of "$n" || true)"); done
    stop_pids "${pids[@]}"
  fi
  # Whatever is left: shims, sandboxes, pod processes. Killed until none remain.
  local tries=0 left
  while left=$(cluster_pids) && [ -n "$left" ]; do
    tries=$((tries + 1))
    [ "$tries" -gt 50 ] && { log "processes will not die: $(echo $left)"; break; }
    # shellcheck disable=SC2086
    kill -9 $left 2>/dev/null || true
    sleep 0.2
  done
  [ "$tries" -gt 0 ] && log "killed left-over processes"
  # cgroups, deepest first.
  find /sys/fs/cgroup/*/"$NETNS" -depth -type d -exec rmdir {} + 2>/dev/null || true
  ls -d /sys/fs/cgroup/*/"$NETNS" >/dev/null 2>&1 && log "warning: cgroups /sys/fs/cgroup/*/$NETNS remain"
  if [ -e "/run/netns/$NETNS" ]; then
    ip netns del "$NETNS" && log "deleted network namespace $NETNS"
  fi
  if [ -n "$S" ] && [ -f "$S/run/netns-dir" ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
    grep -q mounted "$S/run/netns-dir" && mountpoint -q /run/netns && umount /run/netns
    grep -q created "$S/run/netns-dir" && rmdir /run/netns 2>/dev/null
    grep -q libmount "$S/run/netns-dir" && rmdir /run/mount 2>/dev/null
  fi
  if [ -n "$S" ] && [ -d "$S" ]; then
    # The daemons' mounts lived in their own mount namespace, gone with them; never delete through
    # a mount that is somehow still visible here.
    if grep -q " $S" /proc/mounts; then
      log "warning: mounts under $S are still visible; unmounting them"
      grep " $S" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l
    fi
    rm -rf "$S"
  fi
  rm -f "$STATE_FILE"
  report_leftovers
}

# What stop promises to leave: no namespace, process, cgroup, mount, state directory or rule of ours.
report_leftovers() {
  local left=()
  ip netns list 2>/dev/null | grep -qw "$NETNS" && left+=("network namespace $NETNS")
  [ -n "$(cluster_pids)" ] && left+=("processes $(cluster_pids | tr '\n' ' ')")
  ls -d /sys/fs/cgroup/*/"$NETNS" >/dev/null 2>&1 && left+=("cgroups /sys/fs/cgroup/*/$NETNS")
  grep -qE " /tmp/$NETNS\.| /run/netns/$NETNS " /proc/mounts && left+=("mounts")
  ls -d /tmp/"$NETNS".?????? >/dev/null 2>&1 && left+=("state directories $(ls -d /tmp/"$NETNS".??????)")
  iptables-save 2>/dev/null | grep -qE 'KUBE-|CNI-' && left+=("iptables rules in the host's namespace")
  ip -o link 2>/dev/null | grep -qE ": $NETNS[01][@:]" && left+=("links ${NETNS}0/${NETNS}1 in the host's namespace")
  if [ "${#left[@]}" -eq 0 ]; then
    log "stopped; nothing left behind (namespace, processes, cgroups, mounts, state, host iptables)"
  else
    log "stopped, but left behind: ${left[*]}"
    return 1
  fi
}

# ------------------------------------------------------------------------------------------- status, exec, import-image
cmd_status() {
  if ! load_state; then echo "not running"; return 1; fi
  echo "state dir:  $S"
  echo "kubeconfig: $S/admin.kubeconfig (inside network namespace $NETNS)"
  local n
  for n in "${DAEMONS[@]}"; do
    if alive "$n"; then printf '  %-24s up (pid %s)\n' "$n" "$(pid_of "$n")"; else printf '  %-24s down\n' "$n"; fi
  done
  cluster_running && cmd_exec kubectl get nodes -o wide
}

cmd_exec() {
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "usage: cluster.sh exec -- CMD [ARGS...]"
  load_state && [ -e "/run/netns/$NETNS" ] || die "the cluster is not running (cluster.sh start)"
  in_netns env KUBECONFIG="$S/admin.kubeconfig" PATH="$(cluster_path)" MP_K8S_STATE_DIR="$S" "$@"
}

# import-image ARCHIVE NAME[:TAG]: an OCI archive (or OCI layout directory, or docker-archive) into
# containerd's k8s.io namespace, named as kubelet will look it up (docker.io/library/... for short
# names). Pods then use it with imagePullPolicy: Never.
cmd_import_image() {
  [ $# -eq 2 ] || die "usage: cluster.sh import-image ARCHIVE NAME:TAG"
  local src=$1 name=$2
  [ -e "$src" ] || die "no such file: $src"
  load_state && alive containerd || die "the cluster is not running (cluster.sh start)"
  case "$name" in *:*) ;; *) name="$name:latest" ;; esac
  local first=${name%%/*}
  if [ "$first" = "$name" ]; then
    name="docker.io/library/$name"
  elif [[ "$first" != *.* && "$first" != *:* && "$first" != localhost ]]; then
    name="docker.io/$name"
  fi
  local ref
  if [ -d "$src" ]; then
    ref="oci:$src"
  elif tar -tf "$src" 2>/dev/null | grep -x 'index.json\|./index.json' >/dev/null; then   # not -q: pipefail
    ref="oci-archive:$src"
  else
    ref="docker-archive:$src"
  fi
  local tmp; tmp=$(mktemp "$S/var/import.XXXXXX.tar")
  rm -f "$tmp"
  skopeo copy --quiet "$ref" "docker-archive:$tmp:$name"
  "$(containerd_dir)/ctr" --address "$S/containerd.sock" -n k8s.io images import "$tmp" >/dev/null
  rm -f "$tmp"
  log "imported $src as $name"
  echo "$name"
}
