package restic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Lock is one restic lock, as `restic cat lock` shows it: which process, on
// which host, holds the repository since when (restic refreshes the time
// every few minutes while it runs).
type Lock struct {
	ID        string    `json:"-"`
	Time      time.Time `json:"time"`
	Exclusive bool      `json:"exclusive"`
	Hostname  string    `json:"hostname"`
	Username  string    `json:"username"`
	PID       int       `json:"pid"`
}

// ResticStaleAge is the age after which restic itself holds a lock stale:
// its holder stopped refreshing it.
const ResticStaleAge = 30 * time.Minute

// Locks lists the repository's locks. It takes no lock itself.
func (r *Repo) Locks(ctx context.Context) ([]Lock, error) { return r.locks(ctx, false) }

// OpenLocks opens the repository, as Open does (its errors are Open's), by
// listing its locks: every restic process spends about half a second
// deriving the key from the password, so the opening and the look at the
// locks that every data Function starts with cost one process, not two.
func (r *Repo) OpenLocks(ctx context.Context) ([]Lock, error) { return r.locks(ctx, true) }

func (r *Repo) locks(ctx context.Context, failFast bool) ([]Lock, error) {
	out, err := r.run(ctx, call{sub: "list", args: []string{"locks", "--no-lock"}, failFast: failFast})
	if err != nil {
		return nil, err
	}
	var locks []Lock
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		id := strings.TrimSpace(sc.Text())
		if id == "" {
			continue
		}
		l := Lock{ID: id}
		js, err := r.run(ctx, call{sub: "cat", args: []string{"lock", id, "--no-lock"}})
		if err == nil {
			err = json.Unmarshal(bytes.TrimSpace(js), &l) // indented, over several lines
		}
		if err != nil {
			// Released meanwhile, or unreadable: either way nothing shows
			// its holder is gone, so it counts as a fresh lock of an
			// unknown holder.
			l = Lock{ID: id, Time: time.Now()}
		}
		locks = append(locks, l)
	}
	return locks, nil
}

// RemoveAllLocks removes every lock of the repository, whoever holds it:
// only for locks known to be stale (DeadLocks).
func (r *Repo) RemoveAllLocks(ctx context.Context) error {
	_, err := r.run(ctx, call{sub: "unlock", args: []string{"--remove-all"}})
	return err
}

// Holder says what is known of a lock's holder.
type Holder int

const (
	// HolderUnknown: nothing says whether the holder runs (another host,
	// another namespace, another tool): the lock must be respected.
	HolderUnknown Holder = iota
	// HolderRuns: the holder's pod runs.
	HolderRuns
	// HolderGone: the holder's pod has ended or no longer exists: its
	// restic cannot run any more, whatever the lock's age.
	HolderGone
)

// DeadLocks reports whether every one of locks is stale, so that all may be
// removed: restic's own rule (no refresh for ResticStaleAge) or a holder
// known to be gone. One lock of a holder that runs or is unknown keeps them
// all: `restic unlock --remove-all` cannot remove some and spare others.
func DeadLocks(locks []Lock, now time.Time, holder func(Lock) Holder) bool {
	if len(locks) == 0 {
		return false
	}
	for _, l := range locks {
		if now.Sub(l.Time) >= ResticStaleAge {
			continue
		}
		if holder(l) != HolderGone {
			return false
		}
	}
	return true
}
