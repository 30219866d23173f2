#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, for end-to-end tests:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd,
# kubelet, kube-proxy, a small DNS server (hack/clusterdns) and a dynamic
# volume provisioner (Rancher's local-path-provisioner: StorageClass
# local-path, the default), from the binaries hack/setup-test-infra.sh
# builds (TIERS=cluster). Nothing is pulled
# from a registry: pods run local images that hack/build-images.sh imports
# (run it after every up: down removes containerd's store with the rest).
# RBAC, ServiceAccount tokens and the kube-root-ca.crt ConfigMap are real, so
# in-cluster clients (the operator) work and missing permissions show up.
# Its parts: hack/lib/cluster-pki.sh (certificates, kubeconfigs),
# cluster-configs.sh (component configs), cluster-host.sh (network, host
# state); processes are hack/lib/proc.sh's daemons (PID + start time).
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
components=(etcd kube-apiserver clusterdns containerd kube-controller-manager kube-scheduler kubelet kube-proxy local-path-provisioner)
# Kernel settings the kubelet, kube-proxy or the CNI bridge plugin change:
# saved on the first up, restored by down.
sysctls=(net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables
  kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# Host paths a kubelet/containerd/CNI creates outside the state directory
# whatever it is told; down removes the ones that did not exist before up.
host_paths=(/var/lib/kubelet /var/lib/cni /var/log/containers /var/log/pods /run/containerd /run/netns)

# shellcheck source=hack/lib/common.sh
source "$here/lib/common.sh"
# shellcheck source=hack/lib/proc.sh
source "$here/lib/proc.sh"
# shellcheck source=hack/lib/cluster-pki.sh
source "$here/lib/cluster-pki.sh"
# shellcheck source=hack/lib/cluster-configs.sh
source "$here/lib/cluster-configs.sh"
# shellcheck source=hack/lib/cluster-host.sh
source "$here/lib/cluster-host.sh"
log_name=local-cluster
kubectl() { "$bin/kubectl" --kubeconfig "$admin_kc" "$@"; }

# ---------------------------------------------------------------- processes
pid_of() { daemon_pid "$run/$1.pid"; } # NAME: the PID of a running component

start() { # name binary args...: start detached, unless it already runs
  local name=$1 pid
  shift
  if pid=$(pid_of "$name"); then log "$name already running (pid $pid)"; return 0; fi
  pid=$(daemon_start "$run/$name.pid" "$logs/$name.log" "$@")
  log "started $name (pid $pid)"
}

stop() { # name...: SIGTERM by PID to all, SIGKILL to those still there after 15 s
  local name files=()
  for name in "$@"; do files+=("$run/$name.pid"); done
  daemon_stop 15 "${files[@]}"
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
    local-path-provisioner) grep -q "Provisioner started" "$logs/local-path-provisioner.log" ;;
  esac
}

wait_for() { # description seconds command... (the description is for the reader)
  local secs=$2 i
  shift 2
  for ((i = 0; i < secs * 5; i++)); do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  return 1
}

# component_failed NAME WHAT: says which component failed and how, the tail
# of its log, and what to do; exits.
component_failed() {
  log "ERROR: $1 $2; the last lines of $logs/$1.log:"
  tail -n 25 "$logs/$1.log" >&2 || true
  log "ERROR: $1 $2 (log above). Fix what it says, then run: bash hack/local-cluster.sh down && bash hack/local-cluster.sh up"
  exit 1
}

wait_healthy() { # name [seconds]
  local name=$1 secs=${2:-60}
  wait_for "$name" "$secs" healthy_and_running "$name" && { log "$name healthy"; return 0; }
  component_failed "$name" "is running but not healthy after ${secs}s"
}
healthy_and_running() {
  pid_of "$1" >/dev/null || component_failed "$1" "exited"
  healthy "$1"
}

# ----------------------------------------------------------------------- up
cmd_up() {
  [ "$(id -u)" = 0 ] || die "run as root"
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    [ -x "$bin/$b" ] || die "$bin/$b is missing: run TIERS=cluster bash hack/setup-test-infra.sh"
  done
  [ -x "$cache/bin/local-path-provisioner" ] || die "$cache/bin/local-path-provisioner is missing: run TIERS=cluster bash hack/setup-test-infra.sh"

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
  # The sandbox image and the provisioner's helper image (both small, built
  # from this machine); hack/build-images.sh rebuilds them after a change.
  local img missing_images=()
  for img in pause busybox; do
    ctr -a "$ctr_sock" -n k8s.io images ls -q "name==localhost/$img:1" | grep -q . || missing_images+=("$img")
  done
  if [ "${#missing_images[@]}" -gt 0 ]; then
    STASH_CLUSTER_DIR="$state" bash "$here/build-images.sh" "${missing_images[@]}" >&2
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
  local_path_manifest | kubectl apply -f - >/dev/null
  mkdir -p "$state/volumes"
  start local-path-provisioner "$cache/bin/local-path-provisioner" --debug start \
    --kubeconfig "$admin_kc" --namespace local-path-storage --configmap-name local-path-config \
    --service-account-name local-path-provisioner --helper-image localhost/busybox:1 \
    --provisioner-name rancher.io/local-path
  wait_healthy local-path-provisioner 60
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
  # No new pods from controllers, the scheduler or the provisioner while we
  # empty the node.
  stop kube-controller-manager kube-scheduler local-path-provisioner
  if pid_of kube-apiserver >/dev/null && pid_of kubelet >/dev/null && healthy kube-apiserver; then
    # The kubelet tears each pod down through the CRI (CNI DEL, netns, mounts).
    log "deleting every pod"
    kubectl delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
    if ! wait_for pods 90 no_pods; then
      log "pods still there after 90s: forcing"
      kubectl delete pods --all --all-namespaces --grace-period=0 --force >/dev/null 2>&1 || true
    fi
    if pid_of containerd >/dev/null; then wait_for sandboxes 30 no_running_tasks || true; fi
  fi
  stop kubelet kube-proxy
  remove_containers
  stop containerd clusterdns kube-apiserver
  stop etcd
  if [ -n "${STASH_CLUSTER_KEEP_LOGS:-}" ]; then
    mkdir -p "$STASH_CLUSTER_KEEP_LOGS" && cp -a "$logs/." "$STASH_CLUSTER_KEEP_LOGS/" && log "logs copied to $STASH_CLUSTER_KEEP_LOGS"
  fi
  # kube-proxy's own cleanup removes every chain and rule it created.
  if [ -x "$bin/kube-proxy" ]; then "$bin/kube-proxy" --cleanup >>"$logs/kube-proxy-cleanup.log" 2>&1 || true; fi
  remove_kubelet_chains
  network_down
  unmount_under "$state"
  restore_host_state
  log "removing $state"
  rm -rf "$state"
  log "cluster down; $state removed"
}

no_pods() { [ -z "$(kubectl get pods --all-namespaces -o name 2>/dev/null)" ]; }
# Not "| grep -q .": grep's early exit can end ctr with SIGPIPE while it
# writes the next task, and pipefail would then report no running tasks.
no_running_tasks() { [ -z "$(ctr -a "$ctr_sock" -n k8s.io tasks ls -q 2>/dev/null)" ]; }

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
