package schedule

import (
	"time"
)

// DefaultStartingDeadline applies when spec.startingDeadlineSeconds is unset.
const DefaultStartingDeadline = 300 * time.Second

// Input is what a scheduling decision depends on: the schedule part of a
// BackupConfiguration's spec and what its status and metadata say happened.
type Input struct {
	Schedule string // spec.schedule; empty: no schedule
	TimeZone string // spec.timeZone
	Paused   bool   // spec.paused
	// StartingDeadlineSeconds is spec.startingDeadlineSeconds; nil is
	// DefaultStartingDeadline.
	StartingDeadlineSeconds *int64
	// LastScheduleTime is status.lastScheduleTime, zero when none: ticks at
	// or before it are done.
	LastScheduleTime time.Time
	// Created is metadata.creationTimestamp: ticks at or before it were never
	// due. Used while LastScheduleTime is zero.
	Created time.Time
}

// Decision says what a reconcile at a given time must do.
type Decision struct {
	// Tick is the scheduled time to create a session for, zero when none is
	// due. It is the newest tick after the last one that is not in the
	// future, and only if it is at most the starting deadline old.
	Tick time.Time
	// Next is the first tick after now (status.nextScheduleTime, and when to
	// reconcile again); zero when paused, unscheduled or never again.
	Next time.Time
	// Missed is the earliest tick after the last one that is not run and
	// never will be: it was missed (the operator was down) and is older
	// than the deadline, or a newer tick is caught up instead. Zero when
	// nothing was missed.
	Missed time.Time
}

// Decide is the scheduling decision at now. Missed ticks are caught up at
// most once: only the newest one, and only within the starting deadline. An
// invalid schedule or time zone is an error, also when paused, so that the
// user hears of it before unpausing.
func Decide(in Input, now time.Time) (Decision, error) {
	sched, err := Parse(in.Schedule, in.TimeZone)
	if err != nil {
		return Decision{}, err
	}
	return sched.Decide(in, now), nil
}

// Decide is Decide for a parsed schedule; the Schedule and TimeZone of in
// are ignored. A nil schedule (none) decides nothing.
func (s *Schedule) Decide(in Input, now time.Time) Decision {
	if s == nil || in.Paused {
		return Decision{}
	}
	deadline := DefaultStartingDeadline
	if in.StartingDeadlineSeconds != nil {
		deadline = max(time.Duration(*in.StartingDeadlineSeconds)*time.Second, 0)
	}
	anchor := in.LastScheduleTime
	if anchor.IsZero() {
		anchor = in.Created
	}

	var d Decision
	if latest := s.latest(anchor, now); !latest.IsZero() {
		// Ticks are whole seconds; so is the age, so that a deadline of 0
		// still takes a reconcile that wakes within the tick's second.
		if now.Truncate(time.Second).Sub(latest) <= deadline {
			d.Tick = latest
		}
		if first := s.Next(anchor); first.Before(latest) || d.Tick.IsZero() {
			d.Missed = first
		}
	}
	d.Next = s.Next(laterOf(now, anchor))
	return d
}

// latest returns the newest tick in (from, to], or the zero time. It looks
// back from to over a window that doubles until it holds a tick, so that a
// frequent schedule after a long outage costs a few steps, not one per tick.
func (s *Schedule) latest(from, to time.Time) time.Time {
	if !to.After(from) {
		return time.Time{}
	}
	span := to.Sub(from) // saturates rather than overflows
	for window := time.Minute; ; window = doubled(window, span) {
		start := from
		if window < span {
			start = to.Add(-window)
		}
		if first := s.Next(start); !first.IsZero() && !first.After(to) {
			latest := first
			for next := s.Next(latest); !next.IsZero() && !next.After(to); next = s.Next(next) {
				latest = next
			}
			return latest
		}
		if start.Equal(from) {
			return time.Time{}
		}
	}
}

// doubled is 2*w, at most limit, without overflow.
func doubled(w, limit time.Duration) time.Duration {
	if w > limit/2 {
		return limit
	}
	return 2 * w
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
