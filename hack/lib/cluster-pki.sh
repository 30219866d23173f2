# shellcheck shell=bash disable=SC2154 # the settings are local-cluster.sh's
# Part of hack/local-cluster.sh, sourced by it: the CA, the certificates and the kubeconfigs
# (openssl), and put, which writes a file only when its content changes.
# It reads the script's settings (state, pki, node, gw, ...) and adds nothing
# else to the environment.

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
