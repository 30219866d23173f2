# shellcheck shell=bash disable=SC2154 # the settings are local-cluster.sh's
# Part of hack/local-cluster.sh, sourced by it: the components' configuration files.
# It reads the script's settings (state, pki, node, gw, ...) and adds nothing
# else to the environment.

write_configs() {
  kubeconfig "$admin_kc" stash-local-admin admin
  for c in kube-controller-manager kube-scheduler kube-proxy kubelet; do
    kubeconfig "$state/$c.kubeconfig" "$c" "$c"
  done

  # The node's resolv.conf for pods (dnsPolicy Default, hostNetwork): no
  # nameserver, so the resolvers try 127.0.0.1 in the pod and fail at once
  # instead of timing out against a server pods cannot reach. ClusterFirst
  # pods get clusterdns (clusterDNS below) and the usual search list.
  printf '# stash local cluster: cluster DNS is %s (ClusterFirst pods only)\n' "$gw" | put "$state/resolv.conf"

  mkdir -p "$state/cni/net.d" "$state/cni/ipam"
  put "$state/cni/net.d/10-$net_name.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "$net_name", "plugins": [
  {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$state/cni/ipam",
            "ranges": [[{"subnet": "$pod_cidr", "gateway": "$gw"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}
EOF

  local c="$state/containerd"
  mkdir -p "$c/root" "$c/state" "$c/opt"
  put "$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$ctr_sock"
[ttrpc]
  address = "$ctr_sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # registry.k8s.io is out of reach: the sandbox is our own pause image.
  sandbox_image = "localhost/pause:1"
  # This VM lacks CAP_SYS_RESOURCE; without this runc fails every sandbox
  # ("nsexec: failed to update /proc/self/oom_score_adj: Permission denied").
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      # Without it: "container.Runtime.Name must be set: invalid argument".
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$c/runc"
EOF

  mkdir -p "$state/kubelet" "$state/pod-logs" "$state/kubelet-plugins"
  put "$state/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This VM has cgroup v1 only; the 1.37 default refuses to start on it.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$ctr_sock
address: $gw
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [$gw]
resolvConf: $state/resolv.conf
podLogsDir: $state/pod-logs
volumePluginDir: $state/kubelet-plugins
serializeImagePulls: false
# Locally imported images cannot be pulled again: never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%}
EOF

  put "$state/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $state/kube-proxy.kubeconfig}
hostnameOverride: $node
clusterCIDR: $pod_cidr
detectLocalMode: ClusterCIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$gw/32"]
oomScoreAdj: 0
# Leave the conntrack sysctls as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false, masqueradeAll: false, minSyncPeriod: 1s, syncPeriod: 30s}
EOF
}

# The dynamic volume provisioner (Rancher's local-path-provisioner, a host
# process like the other components): its namespace, the account of its
# helper pods, and the ConfigMap it reads its configuration, helper pod and
# scripts from. A claim of the default StorageClass local-path gets a
# directory under $state/volumes on the node (created by a helper pod of
# localhost/busybox:1 when the claim's first pod is scheduled) and a
# PersistentVolume; deleting the claim deletes both.
local_path_manifest() {
  cat <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: local-path-storage}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: local-path-provisioner, namespace: local-path-storage}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
---
apiVersion: v1
kind: ConfigMap
metadata: {name: local-path-config, namespace: local-path-storage}
data:
  config.json: |-
    {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["$state/volumes"]}]}
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "\$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "\$VOL_DIR"
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata: {name: helper-pod}
    spec:
      containers:
      - name: helper-pod
        image: localhost/busybox:1
        imagePullPolicy: Never
EOF
}
