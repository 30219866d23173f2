// Package metrics holds the operator's Prometheus metrics, served on its
// metrics endpoint with controller-runtime's own.
package metrics

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

var (
	// BackupSessions counts finished (and skipped) backup sessions.
	BackupSessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stash_backup_session_total", Help: "Backup sessions that reached a final phase.",
	}, []string{"namespace", "invoker", "phase"})
	// BackupDuration observes how long finished backup sessions took.
	BackupDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "stash_backup_session_duration_seconds", Help: "Duration of finished backup sessions.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 16), // 1 s .. 9 h
	}, []string{"namespace", "invoker"})
	// LastBackupSuccess is the completion time of the newest successful backup.
	LastBackupSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stash_backup_last_success_timestamp_seconds", Help: "Unix time of the last successful backup.",
	}, []string{"namespace", "invoker"})
	// RestoreSessions counts finished restore sessions.
	RestoreSessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stash_restore_session_total", Help: "Restore sessions that reached a final phase.",
	}, []string{"namespace", "phase"})
	// RepositorySize is the size of a repository as of its last backup.
	RepositorySize = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stash_repository_size_bytes", Help: "Size of the restic repository after the last backup.",
	}, []string{"namespace", "repository"})
	// RepositorySnapshots is the number of snapshots in a repository.
	RepositorySnapshots = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stash_repository_snapshot_count", Help: "Snapshots in the restic repository after the last backup.",
	}, []string{"namespace", "repository"})
	// RepositoryIntegrity is the last integrity check's result: 1 no errors,
	// 0 errors found (alert on == 0).
	RepositoryIntegrity = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stash_repository_integrity", Help: "1 when the last restic check of the repository found no errors, 0 when it found some.",
	}, []string{"namespace", "repository"})
	// RepositoryLastCheck is when the repository was last checked (alert
	// when it is too old).
	RepositoryLastCheck = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stash_repository_last_integrity_check_timestamp_seconds", Help: "Unix time of the last restic check of the repository.",
	}, []string{"namespace", "repository"})
)

func init() {
	crmetrics.Registry.MustRegister(BackupSessions, BackupDuration, LastBackupSuccess, RestoreSessions, RepositorySize, RepositorySnapshots,
		RepositoryIntegrity, RepositoryLastCheck)
}

// ParseSize reads a humanised size such as "1.2 GiB" or "512 B" (the
// Repository status format) back into bytes; ok is false for anything else.
func ParseSize(s string) (float64, bool) {
	num, unit, found := strings.Cut(strings.TrimSpace(s), " ")
	if !found {
		return 0, false
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	units := map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50}
	m, ok := units[unit]
	return v * m, ok
}

// SessionFinished counts session s, a BackupSession or a RestoreSession,
// which reached its final phase at now: its phase and, for a backup, its
// duration and, on success, its time.
func SessionFinished(s metav1.Object, phase stashv1beta1.SessionPhase, now time.Time) {
	switch s := s.(type) {
	case *stashv1beta1.BackupSession:
		ns, invoker := s.Namespace, s.Spec.Invoker.Name
		BackupSessions.WithLabelValues(ns, invoker, string(phase)).Inc()
		BackupDuration.WithLabelValues(ns, invoker).Observe(max(now.Sub(s.CreationTimestamp.Time), 0).Seconds())
		if phase == stashv1beta1.SessionSucceeded {
			LastBackupSuccess.WithLabelValues(ns, invoker).Set(float64(now.Unix()))
		}
	case *stashv1beta1.RestoreSession:
		RestoreSessions.WithLabelValues(s.Namespace, string(phase)).Inc()
	}
}
