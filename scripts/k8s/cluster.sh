#!/usr/bin/env bash
# A single-node Kubernetes with gVisor for the project's tests, built from Debian packages and the Go
# module proxy only (no container registry), running entirely inside a network namespace of its own.
# See docs/k8s-cluster.md.
#
#   cluster.sh build                        install and build everything (cached; seconds when done)
#   cluster.sh start                        start the cluster; prints the kubeconfig path
#   cluster.sh stop                         stop it and remove every trace
#   cluster.sh status                       what runs
#   cluster.sh exec -- CMD [ARGS...]        run CMD inside the cluster's network namespace, KUBECONFIG set
#   cluster.sh import-image ARCHIVE NAME:TAG  an OCI archive into the node's containerd
#
# Needs root (network namespaces, cgroups, mounts).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"
source "$here/lib/build.sh"
source "$here/lib/config.sh"
source "$here/lib/lifecycle.sh"

[ "$(id -u)" -eq 0 ] || die "run as root: the cluster needs network namespaces, cgroups and mounts"

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  build) build_all ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  exec) cmd_exec "$@" ;;
  import-image) cmd_import_image "$@" ;;
  _up) cmd_up "$@" ;;   # internal: the part of start that runs inside the namespaces
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
