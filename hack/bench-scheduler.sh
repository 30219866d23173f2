#!/usr/bin/env bash
# The scheduler at scale, on envtest with the real clock: N BackupConfigurations
# (default 1000) every minute, two ticks. Prints the delay between each tick and
# its BackupSessions' creation (p50, p99), the operator's peak RSS and CPU per
# tick; then the limit of running backup Jobs: N sessions at once, at most
# STASH_BENCH_LIMIT (10) running, each done 200 ms after it appears: how long
# the last waits. Takes about 5 minutes. env: STASH_BENCH_CONFIGS=N
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(TIERS=envtest bash hack/setup-test-infra.sh | sed 's/^/export /')"
STASH_BENCH_SCHEDULER=1 go test -count=1 -timeout 30m -run '^(TestSchedulerLoad|TestConcurrencyLimitDrain)$' -v ./internal/operator/ 2>&1 |
  grep -E 'scale_test.go|throttle_bench_test.go|^(ok|FAIL|---)'
