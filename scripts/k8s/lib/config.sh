# `cluster.sh start`, first half: certificates, kubeconfigs and every component's configuration,
# written into the run's state directory $S. Sourced by cluster.sh. Nothing here starts a process.

# A CA and a certificate per client and server. EC P-256 keys: quicker to make than RSA, and every
# component accepts them.
write_pki() {
  local P=$S/pki
  mkdir -p "$P"
  (
    cd "$P"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key
    openssl req -x509 -new -key ca.key -subj "/CN=mpk8s-ca" -days 30 -out ca.crt 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout -out sa.key
    openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null
    cert() { # NAME SUBJECT [SAN]: a client certificate, or a server one when SAN is given
      local n=$1 subj=$2 san=${3:-}
      openssl ecparam -name prime256v1 -genkey -noout -out "$n.key"
      openssl req -new -key "$n.key" -subj "$subj" -out "$n.csr" 2>/dev/null
      {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        if [ -n "$san" ]; then
          echo "extendedKeyUsage=serverAuth,clientAuth"
          echo "subjectAltName=$san"
        else
          echo "extendedKeyUsage=clientAuth"
        fi
      } >"$n.ext"
      openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
        -extfile "$n.ext" -out "$n.crt" 2>/dev/null
      rm -f "$n.csr" "$n.ext"
    }
    cert apiserver "/CN=kube-apiserver" "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:${SVC_CIDR%.0/*}.1,IP:$NODE_IP"
    cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
    cert admin "/O=system:masters/CN=mpk8s-admin"
    cert controller-manager "/CN=system:kube-controller-manager"
    cert scheduler "/CN=system:kube-scheduler"
    cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
    cert kubelet-serving "/CN=$NODE_NAME" "DNS:$NODE_NAME,DNS:localhost,IP:$NODE_IP,IP:127.0.0.1"
    cert kube-proxy "/CN=system:kube-proxy"
    cert coredns "/CN=mpk8s:coredns"
    cert kube-router "/CN=mpk8s:kube-router"
  )
  local who
  for who in admin controller-manager scheduler kubelet kube-proxy coredns kube-router; do
    cat >"$S/$who.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: mpk8s
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: "$P/ca.crt"}
users:
- name: $who
  user: {client-certificate: "$P/$who.crt", client-key: "$P/$who.key"}
contexts:
- name: mpk8s
  context: {cluster: mpk8s, user: $who}
current-context: mpk8s
EOF
  done
}

write_containerd_config() {
  mkdir -p "$S/cni"
  cat >"$S/containerd.toml" <<EOF
version = 3
root = "$S/var/containerd"
state = "$S/run/containerd"
[grpc]
  address = "$S/containerd.sock"
[plugins.'io.containerd.nri.v1.nri']
  disable = true
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "docker.io/local/pause:$PAUSE_VERSION"
[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  # root here lacks CAP_SYS_RESOURCE: never ask runc or runsc for a negative oom_score_adj
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$S/run/runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runsc]
      runtime_type = "io.containerd.runsc.v1"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runsc.options]
        TypeUrl = "io.containerd.runsc.v1.options"
        ConfigPath = "$S/runsc.toml"
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$S/cni"
EOF
  cat >"$S/runsc.toml" <<EOF
binary_name = "$(gvisor_dir)/runsc"
root = "$S/run/runsc"
log_path = "$S/logs/runsc/%ID%/shim.log"
log_level = "${MP_K8S_RUNSC_LOG_LEVEL:-info}"
[runsc_config]
  platform = "${MP_K8S_RUNSC_PLATFORM:-systrap}"
EOF
  # ptp, not bridge: every pod's traffic is routed through the node's namespace, so kube-proxy's NAT
  # and kube-router's filter rules see pod-to-pod packets without br_netfilter.
  cat >"$S/cni/10-mpk8s.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "mpk8s", "plugins": [
  {"type": "ptp", "ipMasq": false, "mtu": 1500,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": "$S/var/cni-ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
}

write_kubelet_config() {
  : >"$S/resolv.conf"   # pods get the cluster DNS only; nothing upstream exists in the namespace
  cat >"$S/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}, x509: {clientCAFile: "$S/pki/ca.crt"}}
authorization: {mode: AlwaysAllow}
tlsCertFile: $S/pki/kubelet-serving.crt
tlsPrivateKeyFile: $S/pki/kubelet-serving.key
containerRuntimeEndpoint: unix://$S/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$NETNS           # pod cgroups under /sys/fs/cgroup/*/$NETNS, removed by stop
failCgroupV1: false           # the host is cgroup v1; kubelet >= 1.35 refuses it unless told
failSwapOn: false
oomScoreAdj: 0                # the default -999 needs CAP_SYS_RESOURCE
podLogsDir: $S/var/pod-logs
resolvConf: $S/resolv.conf
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
makeIPTablesUtilChains: false
EOF
}

write_kube_proxy_config() {
  cat >"$S/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$S/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $CLUSTER_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [primary]
iptables: {localhostNodePorts: false}
# Leave the kernel's conntrack settings alone: most are global, not per namespace.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
}

# CoreDNS runs as a process on the node's address; the kube-dns Service routes to it (cluster_objects).
write_corefile() {
  cat >"$S/Corefile" <<EOF
.:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:8080
    ready 127.0.0.1:8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $S/coredns.kubeconfig mpk8s
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
    loadbalance
}
EOF
}

# Objects the cluster needs before pods run: RBAC for the two node agents that are not kubelet or
# kube-proxy (which have built-in roles), the kube-dns Service pointing at CoreDNS on the node, and
# the gVisor RuntimeClass.
cluster_objects() {
  cat <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "mpk8s:coredns"}
rules:
- {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "mpk8s:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "mpk8s:coredns"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "mpk8s:coredns"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "mpk8s:kube-router"}
rules:
- {apiGroups: [""], resources: [namespaces, pods, services, nodes, endpoints], verbs: [get, list, watch]}
- {apiGroups: [networking.k8s.io], resources: [networkpolicies], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "mpk8s:kube-router"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "mpk8s:kube-router"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "mpk8s:kube-router"}]
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  clusterIP: $DNS_IP
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-node
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: mpk8s}
addressType: IPv4
endpoints:
- addresses: ["$NODE_IP"]
  conditions: {ready: true}
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: gvisor}
handler: runsc
EOF
}

write_configs() {
  write_pki
  write_containerd_config
  write_kubelet_config
  write_kube_proxy_config
  write_corefile
}
