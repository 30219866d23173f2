#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, for end-to-end tests:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd,
# kubelet, kube-proxy and a small DNS server (hack/clusterdns), from the
# binaries hack/setup-test-infra.sh builds (TIERS=cluster). Nothing is pulled
# from a registry: pods run local images that hack/build-images.sh imports
# (run it after every up: down removes containerd's store with the rest).
# RBAC, ServiceAccount tokens and the kube-root-ca.crt ConfigMap are real, so
# in-cluster clients (the operator) work and missing permissions show up.
#
# usage: hack/local-cluster.sh up|down|status
#   TIERS=cluster bash hack/setup-test-infra.sh          # once per machine
#   eval "export $(bash hack/local-cluster.sh up | grep '^KUBECONFIG=')"
#   bash hack/build-images.sh                            # images into the node
#   kubectl ...; bash hack/local-cluster.sh down
#
#   up      start what is not running (harmless when the cluster is up), wait
#           until the node is Ready, print KUBECONFIG=<state>/admin.kubeconfig
#   down    delete every pod, stop every process by its PID, undo the network,
#           mounts, cgroups and sysctls it changed, remove the state directory
#   status  print what runs; exit 0 when every component runs and is healthy
#
# Environment:
#   STASH_CLUSTER_DIR   state directory (default /var/lib/stash-local-cluster)
#   STASH_CI_CACHE      where setup-test-infra.sh put the binaries (default /var/cache/stash-ci)
#   STASH_NODE_NAME     node name (default stash-node)
#   STASH_CLUSTER_KEEP_LOGS  on down, copy the component logs to this directory first
#
# Network (one cluster per machine: the names and addresses are fixed):
#   bridge stashbr0, gateway 10.244.0.1/24: pods get 10.244.0.x from the CNI
#   bridge plugin. The apiserver (:6443) and the kubelet (:10250) listen on
#   10.244.0.1 only, which is also the node's InternalIP. Services get
#   ClusterIPs from 10.96.0.0/16 (kube-proxy, iptables mode); the route for
#   that range points at the bridge, and pods cannot reach anything outside
#   the machine (a FORWARD rule rejects it), so no test traffic leaves it.
#   Cluster DNS: hack/clusterdns (no CoreDNS image here) on 10.244.0.1:53
#   answers <service>.<namespace>.svc.cluster.local with the ClusterIP (A
#   records only; no headless Services, no pod records, NXDOMAIN for every
#   other name). Pods can also use spec.clusterIP or <NAME>_SERVICE_HOST.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/versions.env
source "$here/versions.env"

cache="${STASH_CI_CACHE:-/var/cache/stash-ci}"
bin="$cache/k8s/$K8S_VERSION"
state="${STASH_CLUSTER_DIR:-/var/lib/stash-local-cluster}"
node="${STASH_NODE_NAME:-stash-node}"

bridge=stashbr0
net_name=stash-local
pod_cidr=10.244.0.0/24
gw=10.244.0.1
svc_cidr=10.96.0.0/16
svc_api=10.96.0.1
api_port=6443
etcd_port=23790
etcd_peer_port=23800
issuer=https://kubernetes.default.svc.cluster.local

pki="$state/pki"; run="$state/run"; logs="$state/logs"
ctr_sock="$state/containerd/containerd.sock"
admin_kc="$state/admin.kubeconfig"
components=(etcd kube-apiserver clusterdns containerd kube-controller-manager kube-scheduler kubelet kube-proxy)
# Kernel settings the kubelet, kube-proxy or the CNI bridge plugin change:
# saved on the first up, restored by down.
sysctls=(net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables
  kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# Host paths a kubelet/containerd/CNI creates outside the state directory
# whatever it is told; down removes the ones that did not exist before up.
host_paths=(/var/lib/kubelet /var/lib/cni /var/log/containers /var/log/pods /run/containerd /run/netns)

t_start=${EPOCHREALTIME/./}
elapsed() { local us=$(( ${EPOCHREALTIME/./} - t_start )); printf '%d.%01d' $((us / 1000000)) $((us / 100000 % 10)); }
log() { echo "[local-cluster $(elapsed)s] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
kubectl() { "$bin/kubectl" --kubeconfig "$admin_kc" "$@"; }

# ---------------------------------------------------------------- processes
pid_of() { # prints the PID of a running component of THIS cluster, or fails
  local f="$run/$1.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -r "/proc/$pid/cmdline" ] || return 1
  # A recycled PID belongs to some other program: ours name the state dir.
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$state" || return 1
  echo "$pid"
}

start() { # name binary args...: start detached, unless it already runs
  local name=$1 pid; shift
  if pid=$(pid_of "$name"); then log "$name already running (pid $pid)"; return 0; fi
  # fd 8 is our lock: the daemon must not hold it.
  ( exec setsid "$@" >>"$logs/$name.log" 2>&1 < /dev/null 8>&- ) &
  echo $! > "$run/$name.pid"
  log "started $name (pid $!)"
}

stop() { # name...: SIGTERM by PID to all, SIGKILL to those still there after 15 s
  local name pid i n names=() pids=()
  for name in "$@"; do
    if pid=$(pid_of "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      names+=("$name"); pids+=("$pid")
    fi
    rm -f "$run/$name.pid"
  done
  for i in "${!pids[@]}"; do
    for ((n = 0; n < 75; n++)); do [ -d "/proc/${pids[$i]}" ] || break; sleep 0.2; done
    if [ -d "/proc/${pids[$i]}" ]; then
      log "${names[$i]} (pid ${pids[$i]}) ignored SIGTERM: SIGKILL"
      kill -KILL "${pids[$i]}" 2>/dev/null || true; sleep 0.2
    fi
    log "stopped ${names[$i]} (pid ${pids[$i]})"
  done
}

healthy() { # name: one quick health probe
  case $1 in
    etcd) curl -fsS -m 2 "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"' ;;
    kube-apiserver) curl -fsS -m 2 --cacert "$pki/ca.crt" "https://$gw:$api_port/readyz" >/dev/null 2>&1 ;;
    containerd) ctr -a "$ctr_sock" version >/dev/null 2>&1 ;;
    kube-controller-manager) curl -fsSk -m 2 https://127.0.0.1:10257/healthz >/dev/null 2>&1 ;;
    kube-scheduler) curl -fsSk -m 2 https://127.0.0.1:10259/healthz >/dev/null 2>&1 ;;
    kubelet) curl -fsS -m 2 http://127.0.0.1:10248/healthz >/dev/null 2>&1 ;;
    kube-proxy) curl -fsS -m 2 http://127.0.0.1:10256/healthz >/dev/null 2>&1 ;;
    clusterdns) ss -Hlun "src $gw:53" | grep -q . && grep -q serving "$logs/clusterdns.log" ;;
  esac
}

wait_for() { # description seconds command... (the description is for the reader)
  local secs=$2 i; shift 2
  for ((i = 0; i < secs * 5; i++)); do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  return 1
}

wait_healthy() { # name [seconds]
  local name=$1 secs=${2:-60}
  wait_for "$name" "$secs" healthy_and_running "$name" && { log "$name healthy"; return 0; }
  log "$name not healthy after ${secs}s; last lines of $logs/$name.log:"
  tail -n 25 "$logs/$name.log" >&2 || true
  exit 1
}
healthy_and_running() {
  pid_of "$1" >/dev/null || { log "$1 exited; last lines of $logs/$1.log:"; tail -n 25 "$logs/$1.log" >&2; exit 1; }
  healthy "$1"
}

# ---------------------------------------------------------------------- PKI
# One CA signs every certificate. EC P-256 keys (fast to make); the
# ServiceAccount signing key is RSA, the usual kind for RS256 tokens.
sign() { # name subject ext [days]
  local name=$1 subj=$2 ext=$3
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 3650 -extfile <(printf '%b' "$ext") \
    -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr"; chmod 600 "$pki/$name.key"
}
client_ext='basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
server_ext() { printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$1"; }

make_pki() {
  [ -f "$pki/.done" ] && return 0
  log "generating the CA, certificates and the ServiceAccount key pair (openssl)"
  rm -rf "$pki"; mkdir -p "$pki"; chmod 700 "$pki"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj "/CN=stash-local-cluster-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  chmod 600 "$pki/ca.key"
  sign apiserver "/CN=kube-apiserver" "$(server_ext "IP:$gw,IP:$svc_api,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost")"
  sign kubelet-serving "/CN=$node" "$(server_ext "IP:$gw,DNS:$node")"
  sign admin "/O=system:masters/CN=stash-local-admin" "$client_ext"
  sign kube-controller-manager "/CN=system:kube-controller-manager" "$client_ext"
  sign kube-scheduler "/CN=system:kube-scheduler" "$client_ext"
  sign kube-proxy "/CN=system:kube-proxy" "$client_ext"
  sign kubelet "/O=system:nodes/CN=system:node:$node" "$client_ext"
  sign apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" "$client_ext"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  chmod 600 "$pki/sa.key"
  touch "$pki/.done"
}

# put FILE: stdin becomes FILE only if it differs (kube-proxy exits when
# its config file is written, even with the same content).
changed=()
put() {
  local tmp="$1.new"
  cat > "$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; changed+=("$1"); fi
}

kubeconfig() { # file user cert-name
  local b64="base64 -w0"
  umask 077
  put "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: stash-local
  cluster:
    server: https://$gw:$api_port
    certificate-authority-data: $($b64 < "$pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b64 < "$pki/$3.crt")
    client-key-data: $($b64 < "$pki/$3.key")
contexts:
- name: $2@stash-local
  context: {cluster: stash-local, user: $2}
current-context: $2@stash-local
EOF
  umask 022
}

# ------------------------------------------------------------------ configs
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

# ------------------------------------------------------------------ network
network_up() {
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    log "created bridge $bridge"
  fi
  ip addr show dev "$bridge" | grep -q "inet $gw/" || ip addr add "$gw/24" dev "$bridge"
  ip link set "$bridge" up
  # ClusterIPs are virtual (kube-proxy DNATs them). Route the range to the
  # bridge so that an address without rules is not sent out of the machine.
  ip route replace "$svc_cidr" dev "$bridge" src "$gw"
  # Pods talk to each other, Services and this host only.
  if ! iptables -w -nL STASH-LOCAL-CLUSTER >/dev/null 2>&1; then
    iptables -w -N STASH-LOCAL-CLUSTER
    iptables -w -A STASH-LOCAL-CLUSTER -s "$pod_cidr" ! -d "$pod_cidr" -j REJECT --reject-with icmp-net-unreachable
  fi
  iptables -w -C FORWARD -j STASH-LOCAL-CLUSTER 2>/dev/null || iptables -w -I FORWARD 1 -j STASH-LOCAL-CLUSTER
}

network_down() {
  while iptables -w -D FORWARD -j STASH-LOCAL-CLUSTER 2>/dev/null; do :; done
  iptables -w -F STASH-LOCAL-CLUSTER 2>/dev/null || true
  iptables -w -X STASH-LOCAL-CLUSTER 2>/dev/null || true
  ip route del "$svc_cidr" dev "$bridge" 2>/dev/null || true
  ip link del "$bridge" 2>/dev/null && log "removed bridge $bridge" || true
}

save_host_state() {
  [ -f "$state/host-state" ] && return 0
  {
    for s in "${sysctls[@]}"; do
      v=$(sysctl -n "$s" 2>/dev/null) && echo "sysctl $s=$v"
    done
    for p in "${host_paths[@]}"; do [ -e "$p" ] && echo "existed $p"; done
    for d in /sys/fs/cgroup/*/; do [ -d "${d}kubepods" ] && echo "existed ${d}kubepods"; done
  } > "$state/host-state.tmp"
  mv "$state/host-state.tmp" "$state/host-state"
}

# ----------------------------------------------------------------------- up
cmd_up() {
  [ "$(id -u)" = 0 ] || die "run as root"
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    [ -x "$bin/$b" ] || die "$bin/$b is missing: run TIERS=cluster bash hack/setup-test-infra.sh"
  done
  for t in containerd runc ctr /usr/lib/cni/bridge umoci iptables openssl curl jq; do
    command -v "$t" >/dev/null || die "$t is missing: run TIERS=cluster bash hack/setup-test-infra.sh"
  done
  mkdir -p "$state" "$run" "$logs"
  save_host_state
  make_pki
  [ -f "$pki/clusterdns.crt" ] || sign clusterdns "/CN=stash-local-clusterdns" "$client_ext"
  write_configs
  # A running component whose configuration changed restarts with the new one.
  local f
  for f in "${changed[@]}"; do
    case $f in
      "$state/kubelet.yaml") stop kubelet ;;
      "$state/containerd/config.toml" | "$state/cni/net.d/"*) stop containerd ;;
      "$state/kube-proxy.yaml") stop kube-proxy ;;
    esac
  done
  network_up

  start etcd "$bin/etcd" --name stash-local --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "stash-local=http://127.0.0.1:$etcd_peer_port" \
    --unsafe-no-fsync --log-level warn
  wait_healthy etcd 30

  start kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address="$gw" --advertise-address="$gw" --secure-port="$api_port" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --service-account-issuer="$issuer" \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range="$svc_cidr" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true \
    --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$pki/ca.crt" \
    --kubelet-preferred-address-types=InternalIP \
    --profiling=false --v=1
  wait_healthy kube-apiserver 120

  # The apiserver calls the kubelet (logs, exec) as this user.
  kubectl create clusterrolebinding stash-local:apiserver-kubelet-client \
    --clusterrole=system:kubelet-api-admin --user=kube-apiserver-kubelet-client \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  # clusterdns reads the Services.
  kubectl create clusterrole stash-local:clusterdns --verb=get,list --resource=services \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl create clusterrolebinding stash-local:clusterdns --clusterrole=stash-local:clusterdns \
    --user=stash-local-clusterdns --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  if ! pid_of clusterdns >/dev/null; then
    mkdir -p "$state/bin"
    (cd "$here/clusterdns" && GOWORK=off CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$state/bin/clusterdns" .) ||
      die "building hack/clusterdns failed"
  fi
  start clusterdns "$state/bin/clusterdns" --listen="$gw:53" --server="https://$gw:$api_port" \
    --ca="$pki/ca.crt" --cert="$pki/clusterdns.crt" --key="$pki/clusterdns.key"

  start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig="$state/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig="$state/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig="$state/kube-controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false \
    --controllers='*' --use-service-account-credentials=true \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
    --service-cluster-ip-range="$svc_cidr" --cluster-cidr="$pod_cidr" --allocate-node-cidrs=false \
    --cluster-name=stash-local --profiling=false --v=1
  start kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig="$state/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig="$state/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig="$state/kube-scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --profiling=false --v=1

  start containerd containerd --config "$state/containerd/config.toml"
  wait_healthy containerd 30
  # The sandbox image; hack/build-images.sh pause rebuilds it after a change.
  if ! ctr -a "$ctr_sock" -n k8s.io images ls -q "name==localhost/pause:1" | grep -q .; then
    STASH_CLUSTER_DIR="$state" bash "$here/build-images.sh" pause >&2
  fi

  start kubelet "$bin/kubelet" --config="$state/kubelet.yaml" \
    --kubeconfig="$state/kubelet.kubeconfig" --root-dir="$state/kubelet" \
    --cert-dir="$state/kubelet/pki" --hostname-override="$node" --node-ip="$gw" --v=1
  start kube-proxy "$bin/kube-proxy" --config="$state/kube-proxy.yaml" --v=1

  wait_healthy kube-controller-manager 60
  wait_healthy kube-scheduler 60
  wait_healthy kubelet 60
  wait_healthy kube-proxy 60
  wait_healthy clusterdns 30
  wait_for node 120 node_ready || die "node $node not Ready after 120s (see $logs/kubelet.log)"
  log "node $node Ready"
  # Pods are refused until their namespace has its ServiceAccount, and they
  # need kube-root-ca.crt for the in-cluster CA.
  wait_for "default ServiceAccount" 60 kubectl -n default get serviceaccount default -o name >/dev/null 2>&1 ||
    die "no default ServiceAccount after 60s (see $logs/kube-controller-manager.log)"
  wait_for kube-root-ca.crt 60 kubectl -n default get configmap kube-root-ca.crt -o name >/dev/null 2>&1 ||
    die "no kube-root-ca.crt ConfigMap after 60s"
  log "cluster up"
  echo "KUBECONFIG=$admin_kc"
}

node_ready() {
  [ "$(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# --------------------------------------------------------------------- down
cmd_down() {
  [ "$(id -u)" = 0 ] || die "run as root"
  if [ ! -d "$state" ]; then log "no cluster state at $state: nothing to do"; return 0; fi
  # No new pods from controllers or the scheduler while we empty the node.
  stop kube-controller-manager kube-scheduler
  if pid_of kube-apiserver >/dev/null && pid_of kubelet >/dev/null && healthy kube-apiserver; then
    # The kubelet tears each pod down through the CRI (CNI DEL, netns, mounts).
    log "deleting every pod"
    kubectl delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
    if ! wait_for pods 90 no_pods; then
      log "pods still there after 90s: forcing"
      kubectl delete pods --all --all-namespaces --grace-period=0 --force >/dev/null 2>&1 || true
    fi
    pid_of containerd >/dev/null && wait_for sandboxes 30 no_running_tasks || true
  fi
  stop kubelet kube-proxy
  remove_containers
  stop containerd clusterdns kube-apiserver
  stop etcd
  if [ -n "${STASH_CLUSTER_KEEP_LOGS:-}" ]; then
    mkdir -p "$STASH_CLUSTER_KEEP_LOGS" && cp -a "$logs/." "$STASH_CLUSTER_KEEP_LOGS/" && log "logs copied to $STASH_CLUSTER_KEEP_LOGS"
  fi
  # kube-proxy's own cleanup removes every chain and rule it created.
  [ -x "$bin/kube-proxy" ] && "$bin/kube-proxy" --cleanup >>"$logs/kube-proxy-cleanup.log" 2>&1 || true
  remove_kubelet_chains
  network_down
  unmount_under "$state"
  restore_host_state
  log "removing $state"
  rm -rf "$state"
  log "cluster down; $state removed"
}

# The kubelet's own chains, which kube-proxy --cleanup leaves: the canary,
# the hint and KUBE-FIREWALL (drops martian traffic to 127.0.0.0/8).
remove_kubelet_chains() {
  local ipt table rule chain
  for ipt in iptables ip6tables; do
    for table in filter nat mangle; do
      { "$ipt-save" -t "$table" 2>/dev/null || true; } |
        { grep -E '^-A [A-Z]+ .*-j KUBE-(FIREWALL|KUBELET-CANARY|IPTABLES-HINT)( |$)' || true; } |
        while read -r rule; do eval "$ipt -w -t $table -D ${rule#-A }" 2>/dev/null || true; done
      for chain in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
        "$ipt" -w -t "$table" -F "$chain" 2>/dev/null && "$ipt" -w -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

no_pods() { [ -z "$(kubectl get pods --all-namespaces -o name 2>/dev/null)" ]; }
no_running_tasks() { ! ctr -a "$ctr_sock" -n k8s.io tasks ls -q 2>/dev/null | grep -q .; }

# What the kubelet did not tear down: kill and delete the remaining
# containers, and unmount the network namespaces of their sandboxes.
remove_containers() {
  pid_of containerd >/dev/null || return 0
  local ids id netns
  ids=$(ctr -a "$ctr_sock" -n k8s.io containers ls -q 2>/dev/null) || return 0
  [ -n "$ids" ] || return 0
  log "removing $(echo "$ids" | wc -l) leftover containers"
  for id in $ids; do
    netns=$(ctr -a "$ctr_sock" -n k8s.io containers info "$id" 2>/dev/null |
      jq -r '.Spec.linux.namespaces[]? | select(.type=="network") | .path // empty' 2>/dev/null || true)
    ctr -a "$ctr_sock" -n k8s.io tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    ctr -a "$ctr_sock" -n k8s.io tasks rm -f "$id" >/dev/null 2>&1 || true
    ctr -a "$ctr_sock" -n k8s.io containers rm "$id" >/dev/null 2>&1 || true
    case $netns in
      /var/run/netns/cni-* | /run/netns/cni-*)
        umount "$netns" 2>/dev/null || umount -l "$netns" 2>/dev/null || true
        rm -f "$netns" ;;
    esac
  done
}

unmount_under() { # every mount point under $1, deepest first, lazily
  awk -v p="$1/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

restore_host_state() {
  local f="$state/host-state" kind rest p d l
  [ -f "$f" ] || return 0
  while read -r kind rest; do
    [ "$kind" = sysctl ] && sysctl -q -w "$rest" >/dev/null 2>&1 || true
  done < "$f"
  existed() { grep -qxF "existed $1" "$f"; }
  # CNI results the containerd CNI library caches under /var/lib/cni.
  rm -f /var/lib/cni/results/"$net_name"-* 2>/dev/null || true
  # Symlinks the kubelet makes in /var/log/containers into our pod-logs dir.
  if [ -d /var/log/containers ]; then
    for l in /var/log/containers/*; do
      [ -L "$l" ] && case $(readlink "$l") in "$state"/*) rm -f "$l" ;; esac
    done
  fi
  # The device-plugin socket dir is fixed at /var/lib/kubelet/device-plugins.
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock /var/lib/kubelet/device-plugins/kubelet_internal_checkpoint 2>/dev/null || true
  for p in "${host_paths[@]}"; do
    if [ -d "$p" ] && ! existed "$p"; then
      find "$p" -depth -type d -empty -delete 2>/dev/null || true   # only empty directories
    fi
  done
  # Empty pod cgroups the kubelet made (QoS and pod levels), in every hierarchy.
  for d in /sys/fs/cgroup/*/; do
    [ -d "${d}kubepods" ] || continue
    find "${d}kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

# ------------------------------------------------------------------- status
cmd_status() {
  local all=0 pid
  if [ ! -d "$state" ]; then echo "no cluster (state dir $state absent)"; return 3; fi
  for c in "${components[@]}"; do
    if pid=$(pid_of "$c"); then
      if healthy "$c"; then printf '%-24s running  pid %-7s healthy\n' "$c" "$pid"
      else printf '%-24s running  pid %-7s NOT healthy\n' "$c" "$pid"; all=1; fi
    else printf '%-24s stopped\n' "$c"; all=1; fi
  done
  if pid_of kube-apiserver >/dev/null && healthy kube-apiserver; then
    echo; kubectl get nodes -o wide 2>&1 || true
    echo; kubectl get pods --all-namespaces -o wide 2>&1 || true
    echo; ctr -a "$ctr_sock" -n k8s.io images ls 2>/dev/null |
      awk 'NR == 1 || $1 !~ /^sha256:/ { printf "%-40s %s %s\n", $1, $4, $5 }' || true
  fi
  echo; echo "KUBECONFIG=$admin_kc"
  return $all
}

case "${1:-}" in
  up | down | status) ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
# One up or down at a time.
if [ "$1" != status ]; then
  exec 8>"/run/stash-local-cluster.lock"
  flock 8
fi
case $1 in
  up) cmd_up ;;
  down) cmd_down; rm -f /run/stash-local-cluster.lock ;;
  status) cmd_status ;;
esac
