#!/usr/bin/env bash
# The scheduler at scale, on envtest with the real clock: N BackupConfigurations
# (default 1000) every minute, two ticks. Prints the delay between each tick and
# its BackupSessions' creation (p50, p99), the operator's peak RSS and CPU per
# tick. Takes about 3 minutes. env: STASH_BENCH_CONFIGS=N
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(TIERS=envtest bash hack/setup-test-infra.sh | sed 's/^/export /')"
STASH_BENCH_SCHEDULER=1 go test -count=1 -timeout 15m -run '^TestSchedulerLoad$' -v ./internal/operator/ 2>&1 |
  grep -E 'scale_test.go|^(ok|FAIL|---)'
