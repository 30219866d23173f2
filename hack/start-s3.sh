#!/usr/bin/env bash
# Starts versitygw (Apache-2.0 S3 gateway, posix backend) on 127.0.0.1 and
# creates the named buckets. Stop it with: hack/stop-servers.sh DIR
#
# usage: start-s3.sh DIR PORT [BUCKET...]
# env:   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (default testkey / testsecret123)
#        VERSITYGW (binary; default: versitygw on PATH or in $STASH_INFRA_BIN)
# prints S3_ENDPOINT=127.0.0.1:PORT
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib/proc.sh
source "$here/lib/proc.sh"
dir="${1:?directory for data, log and pid}"; port="${2:?port}"; shift 2
access="${AWS_ACCESS_KEY_ID:-testkey}"; secret="${AWS_SECRET_ACCESS_KEY:-testsecret123}"
bin="${VERSITYGW:-$(PATH="${STASH_INFRA_BIN:+$STASH_INFRA_BIN:}$PATH" command -v versitygw || true)}"
[ -x "$bin" ] || { echo "start-s3.sh: versitygw not found; run hack/setup-test-infra.sh and export STASH_INFRA_BIN" >&2; exit 1; }
mkdir -p "$dir/s3-data"
daemon_start "$dir/versitygw.pid" "$dir/versitygw.log" \
  "$bin" --port "127.0.0.1:$port" --access "$access" --secret "$secret" posix "$dir/s3-data" >/dev/null
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
curl -s -o /dev/null "http://127.0.0.1:$port/" || { echo "start-s3.sh: versitygw did not answer on 127.0.0.1:$port; log:" >&2; tail -5 "$dir/versitygw.log" >&2; exit 1; }
for bucket in "$@"; do
  # Plain curl signs S3 requests; versitygw insists on x-amz-content-sha256
  # (here the hash of the empty body).
  curl -fsS -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$access:$secret" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "http://127.0.0.1:$port/$bucket" -o /dev/null
done
echo "S3_ENDPOINT=127.0.0.1:$port"
