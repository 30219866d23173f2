#!/usr/bin/env bash
# Builds the local cluster's images without a registry or a Docker daemon and
# imports them into the cluster's containerd (namespace k8s.io):
#
#   localhost/pause:1        our pause program (hack/pause): the pod sandbox image
#   localhost/busybox:1      Debian's static busybox: the local-path provisioner's
#                            helper pods, and test workloads that need a shell
#   stash:$STASH_IMAGE_TAG   Debian trixie (minbase) + postgresql-client-17,
#                            mariadb-client (11.8), ca-certificates
#                            (hack/image/stash.env) + the static stash binary
#                            and restic; also tagged stash:$VERSION
#                            (containerd names: docker.io/library/stash:<tag>)
#   localhost/postgres:13, :15, :17
#                            postgresql-13 (Debian bullseye), -15 (bookworm),
#                            -17 (trixie); initialise $PGDATA, password from
#                            POSTGRES_PASSWORD, listen on 0.0.0.0:5432
#   localhost/mariadb:10.5, :10.11, :11.8
#                            mariadb-server of bullseye, bookworm, trixie;
#                            password from MARIADB_ROOT_PASSWORD, listen on
#                            0.0.0.0:3306
#   localhost/redis:6, :7, :8
#                            redis-server of bullseye, bookworm, trixie; the
#                            default user's password from REDIS_PASSWORD, no
#                            persistence, listen on 0.0.0.0:6379
#
# usage: hack/build-images.sh [IMAGE...]   (default: all of pause busybox stash
#        postgres-13 postgres-15 postgres-17 mariadb-10.5 mariadb-10.11
#        mariadb-11.8 redis-6 redis-7 redis-8)
#
# How: mmdebstrap makes each Debian root filesystem as a tarball from the
# Debian mirror apt uses (/etc/apt/sources.list.d/debian.sources), umoci packs
# OCI layouts, `ctr image import` loads them. Everything is cached under
# $STASH_CI_CACHE/images: a root filesystem is rebuilt only when its package
# list, hook or apt sources change, the stash layer only when the stash or
# restic binary changes, and an image is imported only when containerd does
# not already hold that manifest. Cold (empty cache) this takes 10-15 min on a
# busy 2-core machine; after `local-cluster.sh up` (new containerd) about 40 s
# (imports); with everything imported about 8 s.
#
# Environment:
#   STASH_CLUSTER_DIR   the cluster (hack/local-cluster.sh) to import into
#   STASH_CI_CACHE      cache root (default /var/cache/stash-ci)
#   STASH_IMAGE_TAG     tag of the stash image (default latest, what config/ uses)
#   VERSION             version stamped into the binary and second tag (default v0.1.0-dev)
#   STASH_IMAGES_NO_IMPORT=1  build the OCI layouts only (no cluster needed)
#   FORCE_BASE=1        rebuild the Debian root filesystems (new security updates)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=hack/versions.env
source "$here/versions.env"

cache="${STASH_CI_CACHE:-/var/cache/stash-ci}"
icache="$cache/images"
state="${STASH_CLUSTER_DIR:-/var/lib/stash-local-cluster}"
sock="$state/containerd/containerd.sock"
tag="${STASH_IMAGE_TAG:-latest}"
version="${VERSION:-v0.1.0-dev}"
restic_bin="$cache/bin/restic-$RESTIC_VERSION"
# The Debian mirror (and snapshot, if any) this machine's apt uses.
sources=/etc/apt/sources.list.d/debian.sources
[ -r "$sources" ] || sources=/etc/apt/sources.list
# shellcheck source=hack/image/stash.env
source "$here/image/stash.env" # SUITE, PACKAGES and IMAGE_* of the stash image
# The database servers of the end-to-end tests: <engine>-<version> and the
# Debian suite that packages that version.
declare -A server_suites=([postgres-13]=bullseye [postgres-15]=bookworm [postgres-17]=trixie
  [mariadb-10.5]=bullseye [mariadb-10.11]=bookworm [mariadb-11.8]=trixie
  [redis-6]=bullseye [redis-7]=bookworm [redis-8]=trixie)

# shellcheck source=hack/lib/common.sh
source "$here/lib/common.sh"
log_name=build-images
sha() { sha256sum | cut -c1-16; }

all_images=(pause busybox stash postgres-13 postgres-15 postgres-17 mariadb-10.5 mariadb-10.11 mariadb-11.8 redis-6 redis-7 redis-8)
targets=("$@"); [ "${#targets[@]}" -gt 0 ] || targets=("${all_images[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_images[*]} " == *" $t "* ]] || die "unknown image $t (${all_images[*]})"
done
[ "$(id -u)" = 0 ] || die "run as root (root filesystems keep their owners)"
for t in umoci ctr jq go; do command -v "$t" >/dev/null || die "$t missing: run TIERS=cluster bash hack/setup-test-infra.sh"; done

import=1
if [ "${STASH_IMAGES_NO_IMPORT:-}" = 1 ]; then
  import=0
elif ! ctr -a "$sock" version >/dev/null 2>&1; then
  die "no cluster containerd at $sock: run hack/local-cluster.sh up first (or STASH_IMAGES_NO_IMPORT=1)"
fi

mkdir -p "$icache/rootfs" "$icache/oci" "$icache/work"
exec 9>"$icache/.lock"
flock 9
work="$(mktemp -d "$icache/work/run.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# ------------------------------------------------------------ root filesystems
# Keep images small: no docs except copyrights, no man pages or translations.
mm_opts=(--variant=minbase --aptopt='APT::Install-Recommends "false"' --dpkgopt=force-unsafe-io
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias')

# suite_sources SUITE: prints the path of apt's sources with every suite name
# of this machine's Debian release (bookworm, bookworm-updates, ...) replaced
# by SUITE's: the same mirror (or snapshot), another release.
suite_sources() {
  [ -r "$sources" ] || die "$sources missing: which Debian mirror does apt use?"
  local release out="$work/sources-$1"
  # shellcheck source=/dev/null # the machine's
  release=$(. /etc/os-release && echo "$VERSION_CODENAME")
  [ -n "$release" ] || die "no VERSION_CODENAME in /etc/os-release: which Debian release is this?"
  sed "s/\b$release\b/$1/g" "$sources" > "$out"
  echo "$out"
}

# rootfs NAME SUITE HOOK PACKAGE...: prints the path of the cached rootfs
# tarball. HOOK is a shell snippet run with the root directory as $1
# (mmdebstrap's customize hook). The key hashes everything that shapes the
# result.
rootfs() {
  local name=$1 suite=$2 hook=$3; shift 3
  local pkgs; pkgs=$(IFS=,; echo "$*")
  local src; src=$(suite_sources "$suite")
  local key; key=$( { echo "$suite $pkgs"; printf '%s\n' "${mm_opts[@]}"; echo "$hook"; grep -v '^#' "$src"; } | sha)
  local out="$icache/rootfs/$name-$key.tar"
  if [ -f "$out" ] && [ "${FORCE_BASE:-}" != 1 ]; then echo "$out"; return 0; fi
  command -v mmdebstrap >/dev/null || die "mmdebstrap missing: run TIERS=cluster bash hack/setup-test-infra.sh"
  local t; t=$(now_us)
  log "$name: mmdebstrap $suite minbase + $pkgs (cold: 3-5 min on a busy 2-core machine)"
  local partial="$icache/rootfs/.partial-$name.tar"
  rm -rf "$partial"
  mmdebstrap --quiet --format=tar "${mm_opts[@]}" --include="$pkgs" --customize-hook="$hook" \
    "$suite" "$partial" "$src" >&2 || die "mmdebstrap for $name failed"
  mv "$partial" "$out"
  find "$icache/rootfs" -name "$name-*.tar" ! -name "$name-$key.tar" -delete
  # Images packed from an earlier root filesystem under the same key (FORCE_BASE).
  rm -rf "$icache/oci/$name"
  log "$name: rootfs $(du -sh "$out" | cut -f1) in $(since "$t")s"
  echo "$out"
}

# ------------------------------------------------------------------ OCI images
# image NAME BASE_TAR LAYER_TAR CONFIG_ARGS...: an OCI layout $icache/oci/NAME
# whose tag img-<key> is BASE_TAR (optional) + LAYER_TAR + config. Prints the tag.
image() {
  local name=$1 base=$2 layer=$3; shift 3
  local layout="$icache/oci/$name"
  [ -d "$layout" ] || umoci init --layout "$layout"
  local bkey="none"; [ -n "$base" ] && bkey=$(basename "$base" .tar)
  local key; key=$( { echo "$bkey"; sha256sum < "$layer"; printf '%s\n' "$@"; } | sha)
  local t="img-$key" bt="base-$bkey" tags
  tags=$(umoci ls --layout "$layout")
  if ! grep -qx "$t" <<< "$tags"; then
    local s; s=$(now_us)
    if [ -n "$base" ]; then
      if ! grep -qx "$bt" <<< "$tags"; then
        umoci new --image "$layout:$bt"
        umoci raw add-layer --image "$layout:$bt" --history.created_by "mmdebstrap ($bkey)" "$base"
        log "$name: packed base layer in $(since "$s")s"
      fi
      umoci raw add-layer --image "$layout:$bt" --tag "$t" --history.created_by "hack/build-images.sh" "$layer"
    else
      umoci new --image "$layout:$t"
      umoci raw add-layer --image "$layout:$t" --history.created_by "hack/build-images.sh" "$layer"
    fi
    umoci config --image "$layout:$t" --os linux --architecture amd64 "$@"
    # Drop what older inputs left behind.
    for old in $(umoci ls --layout "$layout"); do
      [ "$old" = "$t" ] || [ "$old" = "$bt" ] || umoci rm --image "$layout:$old"
    done
    umoci gc --layout "$layout"
    log "$name: image $t built in $(since "$s")s"
  fi
  echo "$t"
}

# load NAME TAG CONTAINERD_REF...: import tag TAG of layout NAME as each REF.
load() {
  local name=$1 t=$2; shift 2
  local layout="$icache/oci/$name" desc digest refs=() base="" ref
  desc=$(jq -c --arg t "$t" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)' "$layout/index.json")
  digest=$(jq -r .digest <<< "$desc")
  [ "$import" = 1 ] || { log "$name: $digest (not imported: STASH_IMAGES_NO_IMPORT=1)"; return 0; }
  local todo=0
  for ref in "$@"; do
    have=$(ctr -a "$sock" -n k8s.io images ls "name==$ref" 2>/dev/null | awk 'NR == 2 { print $3 }')
    [ "$have" = "$digest" ] || todo=1
    base=${ref%:*}; refs+=("${ref##*:}")
  done
  if [ "$todo" = 0 ]; then log "$name: $* already imported ($digest)"; return 0; fi
  local s; s=$(now_us); local idx="$work/index-$name"
  mkdir -p "$idx"
  jq -n --argjson m "$desc" '{schemaVersion: 2, manifests: [$ARGS.positional[] as $n
      | $m | .annotations["org.opencontainers.image.ref.name"] = $n]}' --args "${refs[@]}" > "$idx/index.json"
  tar -C "$layout" -cf - oci-layout blobs -C "$idx" index.json |
    ctr -a "$sock" -n k8s.io images import --base-name "$base" - >/dev/null
  log "$name: imported $* ($digest) in $(since "$s")s"
}

layer_tar() { # OUT DIR: a reproducible tar of DIR's contents
  tar -C "$2" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$1" .
}

gobuild() { # OUT PACKAGE [ldflags]
  # -buildvcs=false: the binary (and so the layer) changes only with the code.
  (cd "$repo" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w ${3:-}" -o "$1" "$2")
}

std_env=(--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.env LANG=C.UTF-8)

# ---------------------------------------------------------------------- pause
build_pause() {
  local s; s=$(now_us); local d="$work/pause"
  mkdir -p "$d/root"
  gobuild "$d/root/pause" ./hack/pause
  layer_tar "$d/layer.tar" "$d/root"
  local t; t=$(image pause "" "$d/layer.tar" --config.entrypoint /pause --config.user 65535:65535)
  load pause "$t" localhost/pause:1
  log "pause: done in $(since "$s")s"
}

# -------------------------------------------------------------------- busybox
# The applets the provisioner's helper scripts and the tests' workloads run.
busybox_applets=(sh mkdir rm ls cat cp chmod sleep date find head tail grep sha256sum md5sum dd sync touch wc echo test true httpd nc wget)
build_busybox() {
  local s; s=$(now_us); local d="$work/busybox" a
  [ -x /bin/busybox ] || die "/bin/busybox missing: run TIERS=cluster bash hack/setup-test-infra.sh (busybox-static)"
  mkdir -p "$d/root/bin" "$d/root/tmp"
  chmod 1777 "$d/root/tmp"
  cp /bin/busybox "$d/root/bin/busybox"
  for a in "${busybox_applets[@]}"; do ln -sf busybox "$d/root/bin/$a"; done
  layer_tar "$d/layer.tar" "$d/root"
  local t; t=$(image busybox "" "$d/layer.tar" --config.env PATH=/bin --config.entrypoint /bin/sh)
  load busybox "$t" localhost/busybox:1
  log "busybox: done in $(since "$s")s"
}

# ---------------------------------------------------------------------- stash
build_stash() {
  local s; s=$(now_us); local d="$work/stash"
  [ -x "$restic_bin" ] || die "$restic_bin missing: run TIERS=cluster bash hack/setup-test-infra.sh"
  # The recipe both image builds share (hack/image): the packages of
  # stash.env, and stash-rootfs.sh as the customize hook (the user).
  local hook; hook=$(< "$here/image/stash-rootfs.sh")
  local base packages
  read -ra packages <<< "$PACKAGES"
  base=$(rootfs stash "$SUITE" "$hook" "${packages[@]}")
  mkdir -p "$d/root/usr/local/bin"
  local sb; sb=$(now_us)
  gobuild "$d/root/usr/local/bin/stash" ./cmd/stash "-X github.com/stash-operator/stash/internal/version.Version=$version"
  log "stash: go build ./cmd/stash in $(since "$sb")s"
  install -m 0755 "$restic_bin" "$d/root/usr/local/bin/restic"
  layer_tar "$d/layer.tar" "$d/root"
  local t; t=$(image stash "$base" "$d/layer.tar" "${std_env[@]}" \
    --config.entrypoint "$IMAGE_ENTRYPOINT" --config.user "$IMAGE_USER" --config.workingdir "$IMAGE_WORKDIR" \
    --config.label "org.opencontainers.image.version=$version")
  local refs=("docker.io/library/stash:$tag")
  [ "$version" = "$tag" ] || refs+=("docker.io/library/stash:$version")
  load stash "$t" "${refs[@]}"
  log "stash: done in $(since "$s")s"
}

# ------------------------------------------------------------------- postgres
write_postgres_entrypoint() {
  cat > "$1" <<'EOF'
#!/bin/sh
# Initialises $PGDATA on first start (superuser $POSTGRES_USER, default
# postgres, password $POSTGRES_PASSWORD, optional database $POSTGRES_DB),
# then runs postgres on 0.0.0.0:5432. Extra arguments go to postgres
# (e.g. -c fsync=off). Started as root it drops to the postgres user.
set -eu
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
bin=$(echo /usr/lib/postgresql/*/bin) # the image's one version
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
  user="${POSTGRES_USER:-postgres}"
  pw="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pw"
  "$bin/initdb" -D "$PGDATA" -U "$user" --pwfile="$pw" -E UTF8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >/dev/null
  rm -f "$pw"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != "$user" ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\";" | "$bin/postgres" --single -D "$PGDATA" -j postgres >/dev/null
  fi
  echo "entrypoint: initialised $PGDATA"
fi
exec "$bin/postgres" -D "$PGDATA" -c listen_addresses=0.0.0.0 \
  -c unix_socket_directories=/var/run/postgresql "$@"
EOF
  chmod 0755 "$1"
}

build_postgres() { # VERSION: the major version, packaged as postgresql-VERSION
  local v=$1
  # The package creates a cluster "main"; the entrypoint makes its own.
  build_server postgres "$v" "rm -rf \"\$1/etc/postgresql/$v/main\" \"\$1/var/lib/postgresql/$v/main\"" "postgresql-$v" \
    --config.env PGDATA=/var/lib/postgresql/data --config.exposedports 5432/tcp --config.stopsignal SIGINT
}

# -------------------------------------------------------------------- mariadb
write_mariadb_entrypoint() {
  cat > "$1" <<'EOF'
#!/bin/sh
# Initialises the data directory on first start (root password
# $MARIADB_ROOT_PASSWORD for root@localhost and root@%, and no other root
# account: mariadb-install-db's password-less root@127.0.0.1, ::1 and
# <hostname> would shadow root@% over TCP; optional database
# $MARIADB_DATABASE), then runs mariadbd on 0.0.0.0:3306. Extra arguments go
# to mariadbd. Started as root it drops to the mysql user.
set -eu
datadir="${MARIADB_DATADIR:-/var/lib/mysql}"
sock=/run/mysqld/mysqld.sock
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$datadir" /run/mysqld
  chown mysql:mysql "$datadir" /run/mysqld
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi
opts="--no-defaults --datadir=$datadir --socket=$sock --skip-name-resolve --skip-log-bin"
if [ ! -d "$datadir/mysql" ]; then
  : "${MARIADB_ROOT_PASSWORD:?set MARIADB_ROOT_PASSWORD}"
  mariadb-install-db $opts --auth-root-authentication-method=normal --skip-test-db >/dev/null
  # A private server (no network) to set the password.
  mariadbd $opts --skip-networking --pid-file=/run/mysqld/init.pid &
  i=0
  until mariadb-admin --no-defaults --socket=$sock -uroot ping >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 300 ] || { echo "entrypoint: mariadbd did not start" >&2; exit 1; }
    sleep 0.1
  done
  q=$(printf '%s' "$MARIADB_ROOT_PASSWORD" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")
  mariadb --no-defaults --socket=$sock -uroot <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '$q';
DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1', 'root'@'$(hostname)';
CREATE USER 'root'@'%' IDENTIFIED BY '$q';
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
${MARIADB_DATABASE:+CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;}
SQL
  MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb-admin --no-defaults --socket=$sock -uroot shutdown
  wait
  echo "entrypoint: initialised $datadir"
fi
exec mariadbd $opts --bind-address=0.0.0.0 --port=3306 --pid-file=/run/mysqld/mysqld.pid "$@"
EOF
  chmod 0755 "$1"
}

build_mariadb() { # VERSION: the version its suite's mariadb-server package is
  # The package initialised /var/lib/mysql; the entrypoint makes its own.
  # shellcheck disable=SC2016 # $1 is mmdebstrap's: the root directory
  build_server mariadb "$1" 'rm -rf "$1/var/lib/mysql" && install -d -m 0750 "$1/var/lib/mysql" && chroot "$1" chown mysql:mysql /var/lib/mysql' \
    mariadb-server --config.exposedports 3306/tcp
}

# ---------------------------------------------------------------------- redis
write_redis_entrypoint() {
  cat > "$1" <<'EOF'
#!/bin/sh
# Runs redis-server on 0.0.0.0:6379 without persistence, the default user's
# password $REDIS_PASSWORD (written to a config file: not on the command
# line). Extra arguments go to redis-server. Started as root it drops to
# the redis user.
set -eu
if [ "$(id -u)" = 0 ]; then
  mkdir -p /run/redis
  chown redis:redis /run/redis
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
: "${REDIS_PASSWORD:?set REDIS_PASSWORD}"
umask 077
conf=/run/redis/redis.conf
printf 'bind 0.0.0.0\nport 6379\ndir /run/redis\nsave ""\nappendonly no\nprotected-mode no\nrequirepass %s\n' "$REDIS_PASSWORD" > "$conf"
exec redis-server "$conf" "$@"
EOF
  chmod 0755 "$1"
}

build_redis() { # VERSION: the major version its suite's redis-server package is
  build_server redis "$1" true redis-server --config.exposedports 6379/tcp
}

# build_server ENGINE VERSION HOOK PACKAGE CONFIG_ARGS...: the image
# localhost/ENGINE:VERSION, PACKAGE of the suite server_suites names (HOOK:
# rootfs's) with write_ENGINE_entrypoint's entrypoint and CONFIG_ARGS.
build_server() {
  local engine=$1 v=$2 hook=$3 package=$4; shift 4
  local name="$engine-$v" s; s=$(now_us); local d="$work/$engine-$v"
  local base; base=$(rootfs "$name" "${server_suites[$name]}" "$hook" "$package")
  mkdir -p "$d/root/usr/local/bin"
  "write_${engine}_entrypoint" "$d/root/usr/local/bin/entrypoint.sh"
  layer_tar "$d/layer.tar" "$d/root"
  local t; t=$(image "$name" "$base" "$d/layer.tar" "${std_env[@]}" --config.entrypoint /usr/local/bin/entrypoint.sh "$@")
  load "$name" "$t" "localhost/$engine:$v"
  log "$name: done in $(since "$s")s"
}

for t in "${targets[@]}"; do
  case $t in
    postgres-* | mariadb-* | redis-*) "build_${t%%-*}" "${t#*-}" ;;
    *) "build_$t" ;;
  esac
done
log "done: ${targets[*]}"
