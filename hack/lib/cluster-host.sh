# shellcheck shell=bash disable=SC2154 # the settings are local-cluster.sh's
# Part of hack/local-cluster.sh, sourced by it: what the cluster changes on the host (the bridge,
# iptables, sysctls, mounts, host paths) and how down undoes it.
# It reads the script's settings (state, pki, node, gw, ...) and adds nothing
# else to the environment.

network_up() {
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    log "created bridge $bridge"
  fi
  # A bridge without an address of its own takes the lowest MAC of its
  # ports, so it changed each time a pod came or went. Pods kept sending to
  # the gateway's old MAC until their ARP entry expired, and every packet to
  # the gateway was lost meanwhile: a DNS lookup, or a call to the apiserver,
  # stalled for 10 s and often failed (measured: 5 stalls of 10 s in 2 min
  # while 36 pods came and went; none with the MAC set). A set address
  # stays: the bridge gets a locally administered one, made from $gw.
  ip link set "$bridge" address "$(gateway_mac "$gw")"
  # replace, not "show | grep -q || add": under pipefail grep's early exit
  # can kill ip with SIGPIPE (it writes each address separately, and the
  # bridge's IPv6 link-local one follows ours), and the add then fails.
  ip addr replace "$gw/24" dev "$bridge"
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

# gateway_mac 10.244.0.1 prints 02:00:0a:f4:00:01: locally administered,
# unicast, and the same on every run.
gateway_mac() {
  local IFS=.
  # shellcheck disable=SC2086 # split on the dots
  set -- $1
  printf '02:00:%02x:%02x:%02x:%02x' "$1" "$2" "$3" "$4"
}

network_down() {
  while iptables -w -D FORWARD -j STASH-LOCAL-CLUSTER 2>/dev/null; do :; done
  iptables -w -F STASH-LOCAL-CLUSTER 2>/dev/null || true
  iptables -w -X STASH-LOCAL-CLUSTER 2>/dev/null || true
  ip route del "$svc_cidr" dev "$bridge" 2>/dev/null || true
  if ip link del "$bridge" 2>/dev/null; then log "removed bridge $bridge"; fi
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

# The kubelet's own chains, which kube-proxy --cleanup leaves: the canary,
# the hint and KUBE-FIREWALL (drops martian traffic to 127.0.0.0/8).
remove_kubelet_chains() {
  local ipt table chain from nums n
  for ipt in iptables ip6tables; do
    for table in filter nat mangle; do
      # Each rule of a built-in chain that jumps to one of them, deleted by
      # its number (highest first, so the others keep theirs): no rule text
      # is parsed or evaluated.
      for from in $("$ipt" -w -t "$table" -S 2>/dev/null | awk '$1 == "-N" { next } $1 == "-P" { print $2 }'); do
        nums=$("$ipt" -w -t "$table" -L "$from" -n --line-numbers 2>/dev/null |
          awk '$2 ~ /^KUBE-(FIREWALL|KUBELET-CANARY|IPTABLES-HINT)$/ { print $1 }' | sort -rn)
        for n in $nums; do "$ipt" -w -t "$table" -D "$from" "$n" 2>/dev/null || true; done
      done
      for chain in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
        if "$ipt" -w -t "$table" -F "$chain" 2>/dev/null; then "$ipt" -w -t "$table" -X "$chain" 2>/dev/null || true; fi
      done
    done
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
    if [ "$kind" = sysctl ]; then sysctl -q -w "$rest" >/dev/null 2>&1 || true; fi
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
