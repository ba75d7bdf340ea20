# Shared settings of scripts/k8s/cluster.sh: pinned versions, where things live, small helpers.
# Sourced, never run. Every setting can be overridden from the environment.

# Pinned versions. Each built component is cached under $MP_K8S_CACHE/<component>-<version>/.
K8S_VERSION=${MP_K8S_VERSION:-v1.35.4}            # k8s.io/kubernetes; its staging modules are v0.35.4
CONTAINERD_VERSION=${MP_K8S_CONTAINERD_VERSION:-v2.4.2}
# gVisor publishes no semver tags on the Go proxy; this is the "go" branch snapshot that
# `go list -m gvisor.dev/gvisor@latest` gave (the go branch carries the generated *_state_autogen.go files).
GVISOR_VERSION=${MP_K8S_GVISOR_VERSION:-v0.0.0-20260905035102-160fafc42237}
COREDNS_VERSION=${MP_K8S_COREDNS_VERSION:-v1.15.0}
# kube-router is the NetworkPolicy enforcer (iptables + ipset). sigs.k8s.io/kube-network-policies needs
# the kernel's nft "queue" expression (CONFIG_NFT_QUEUE), which this machine's kernel lacks; see
# docs/k8s-cluster.md. v2.1.0 is the newest kube-router v2 that the Go module proxy serves.
KUBE_ROUTER_VERSION=${MP_K8S_KUBE_ROUTER_VERSION:-v2.1.0}
PAUSE_VERSION=1                                   # our own pause program (lib/build.sh)
IMAGES_VERSION=1                                  # the pause and busybox images built here

CACHE=${MP_K8S_CACHE:-$HOME/.cache/mcp-multiplayer/k8s}
NETNS=${MP_K8S_NETNS:-mpk8s}
# The state file names the running cluster's state directory; `exec`, `status` and `stop` read it.
STATE_FILE=${MP_K8S_STATE_FILE:-/tmp/$NETNS.state}

# Addresses. They exist only inside the network namespace $NETNS.
NODE_IP=10.200.0.1                                # on a veth inside the namespace
NODE_GW=10.200.0.254                              # nobody answers there: nothing leaves the namespace
POD_CIDR=10.244.0.0/24
CLUSTER_CIDR=10.244.0.0/16
SVC_CIDR=10.96.0.0/16
DNS_IP=10.96.0.10
NODE_NAME=${MP_K8S_NODE_NAME:-mpk8s-node}

# Builds share the machine with test suites: lowest priority, one package and one thread at a time
# unless MP_K8S_BUILD_JOBS says otherwise (CI on a machine of its own can use 2).
BUILD_JOBS=${MP_K8S_BUILD_JOBS:-1}

log() { echo "[k8s $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }

k8s_dir() { echo "$CACHE/kubernetes-$K8S_VERSION"; }
containerd_dir() { echo "$CACHE/containerd-$CONTAINERD_VERSION"; }
gvisor_dir() { echo "$CACHE/gvisor-$GVISOR_VERSION"; }
coredns_dir() { echo "$CACHE/coredns-$COREDNS_VERSION"; }
kube_router_dir() { echo "$CACHE/kube-router-$KUBE_ROUTER_VERSION"; }
pause_dir() { echo "$CACHE/pause-$PAUSE_VERSION"; }
images_dir() { echo "$CACHE/images-$IMAGES_VERSION"; }

# PATH for the cluster's processes and for `exec`: the cached binaries first (kubectl matches the server).
cluster_path() {
  echo "$(k8s_dir):$(containerd_dir):$(gvisor_dir):$(coredns_dir):$(kube_router_dir):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

# Run a command inside the cluster's network namespace (network only: the mount namespace stays).
in_netns() { nsenter --net="/run/netns/$NETNS" -- "$@"; }
