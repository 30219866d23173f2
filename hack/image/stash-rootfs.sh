#!/bin/sh
# Finishes the stash image's root filesystem at ROOT (default /): the non-root
# user the operator and the backups run as (uid/gid 65532) with a writable
# home. Both recipes run it: the Dockerfile on / after installing the
# packages, hack/build-images.sh as mmdebstrap's customize hook.
# usage: stash-rootfs.sh [ROOT]
set -eu
root="${1:-/}"
echo "stash:x:65532:65532:stash:/home/stash:/usr/sbin/nologin" >> "$root/etc/passwd"
echo "stash:x:65532:" >> "$root/etc/group"
install -d -m 0750 -o 65532 -g 65532 "$root/home/stash"
