// Package schedule turns a BackupConfiguration's schedule into ticks, and
// decides, from the status and the current time alone, which tick (if any) a
// reconcile must create a BackupSession for. It is pure: no client, no clock.
//
// Cron expressions are read by robfig/cron's standard parser: five fields
// (minute hour day-of-month month day-of-week) or a descriptor (@yearly,
// @monthly, @weekly, @daily, @hourly), with an optional CRON_TZ=<zone> or
// TZ=<zone> prefix. The zone may also come from spec.timeZone; without either
// it is UTC, never the operator's local zone.
//
// Daylight saving time, in a zone that has it:
//   - a wall-clock time that does not exist (the hour skipped in spring) fires
//     at the first instant after the gap, so a daily backup at 02:30 still
//     runs that day, at 03:00;
//   - a wall-clock time that occurs twice (the hour repeated in autumn) fires
//     once, at its first occurrence, when the schedule names specific hours;
//     a schedule that runs every hour (e.g. */5 * * * *) keeps running by the
//     real clock through the repeated hour.
package schedule

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones must work in a scratch image without /usr/share/zoneinfo

	"github.com/robfig/cron/v3"
)

// Field paths named in errors.
const (
	scheduleField = "spec.schedule"
	timeZoneField = "spec.timeZone"
)

// Schedule is a parsed schedule and its zone.
type Schedule struct {
	expr string
	spec *cron.SpecSchedule
	loc  *time.Location
}

// Parse reads spec.schedule and spec.timeZone. An empty expression is not
// an error: it means no schedule (nil Schedule, only manual sessions run).
// Errors name the field and say what to change.
func Parse(expr, timeZone string) (*Schedule, error) {
	loc, err := loadZone(timeZoneField, timeZone)
	if err != nil {
		return nil, err
	}
	body := strings.TrimSpace(expr)
	if body == "" {
		return nil, nil
	}
	if zone, rest, ok := zonePrefix(body); ok {
		if rest == "" {
			return nil, fmt.Errorf("%s: %q: nothing follows the time zone: add a cron expression, e.g. %q", scheduleField, expr, "CRON_TZ="+zone+" 0 2 * * *")
		}
		prefixLoc, err := loadZone(scheduleField+" CRON_TZ", zone)
		if err != nil {
			return nil, err
		}
		if timeZone != "" && timeZone != zone {
			return nil, fmt.Errorf("%s: %q conflicts with CRON_TZ=%s in %s: set the time zone in one place only", timeZoneField, timeZone, zone, scheduleField)
		}
		loc, body = prefixLoc, rest
	}
	if strings.HasPrefix(body, "@every") {
		return nil, fmt.Errorf("%s: %q: @every is not supported, because its ticks do not fall on the clock and sessions could not be named by their tick: use a cron expression like %q", scheduleField, expr, "*/5 * * * *")
	}
	if !strings.HasPrefix(body, "@") {
		if n := len(strings.Fields(body)); n != 5 {
			return nil, fmt.Errorf("%s: %q: expected 5 fields (minute hour day-of-month month day-of-week), found %d: use a cron expression like %q or @daily", scheduleField, expr, n, "*/5 * * * *")
		}
	}
	parsed, err := cron.ParseStandard(body)
	if err != nil {
		fix := fmt.Sprintf("use a cron expression like %q or @daily", "*/5 * * * *")
		if strings.HasPrefix(body, "@") {
			fix = "use @yearly, @monthly, @weekly, @daily or @hourly, or a cron expression"
		}
		return nil, fmt.Errorf("%s: %q: %v: %s", scheduleField, expr, err, fix)
	}
	spec, ok := parsed.(*cron.SpecSchedule)
	if !ok { // every schedule the standard parser returns, but @every, is a SpecSchedule
		return nil, fmt.Errorf("%s: %q: unsupported kind of schedule %T: use a cron expression", scheduleField, expr, parsed)
	}
	spec.Location = loc
	return &Schedule{expr: expr, spec: spec, loc: loc}, nil
}

// zonePrefix splits "CRON_TZ=<zone> <rest>" or "TZ=<zone> <rest>".
func zonePrefix(s string) (zone, rest string, ok bool) {
	var after string
	switch {
	case strings.HasPrefix(s, "CRON_TZ="):
		after = strings.TrimPrefix(s, "CRON_TZ=")
	case strings.HasPrefix(s, "TZ="):
		after = strings.TrimPrefix(s, "TZ=")
	default:
		return "", "", false
	}
	zone, rest, _ = strings.Cut(after, " ")
	return zone, strings.TrimSpace(rest), true
}

// loadZone loads an IANA zone; empty is UTC. "Local" is refused: the
// operator's own zone is an accident of where it runs.
func loadZone(field, name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, fmt.Errorf("%s: %q is the operator's own zone, not a fixed one: use an IANA name such as Europe/Berlin or UTC", field, name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not a known time zone: use an IANA name such as Europe/Berlin or UTC", field, name)
	}
	return loc, nil
}

// String is the expression as written.
func (s *Schedule) String() string { return s.expr }

// Location is the zone the expression is read in.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next returns the first tick strictly after t, or the zero time when the
// schedule never fires again (e.g. "0 0 30 2 *", tried for five years).
func (s *Schedule) Next(t time.Time) time.Time {
	next := s.spec.Next(t)
	for !next.IsZero() && s.repeated(next) {
		next = s.spec.Next(next)
	}
	if gap := s.gapTick(t, next); !gap.IsZero() {
		return gap
	}
	return next
}

// everyHour: all 24 bits of the hour field are set.
const everyHour = 1<<24 - 1

// repeated reports whether t is the second occurrence of its wall-clock time
// (the hour repeated when the clocks go back), for a schedule that names
// specific hours.
func (s *Schedule) repeated(t time.Time) bool {
	if s.spec.Hour&everyHour == everyHour {
		return false
	}
	t = t.In(s.loc)
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return false
	}
	_, offset := t.Zone()
	_, before := start.Add(-time.Nanosecond).Zone()
	back := time.Duration(before-offset) * time.Second
	return back > 0 && t.Sub(start) < back
}

// gapTick returns the end of the first spring-forward gap in (after, limit]
// in which a wall-clock time of the schedule would have fallen, or the zero
// time. A zero limit means five years after after.
func (s *Schedule) gapTick(after, limit time.Time) time.Time {
	if limit.IsZero() {
		limit = after.AddDate(5, 0, 0)
	}
	t := after.In(s.loc)
	for {
		_, end := t.ZoneBounds()
		if end.IsZero() || end.After(limit) {
			return time.Time{}
		}
		_, before := end.Add(-time.Nanosecond).Zone()
		_, offset := end.Zone()
		if gap := time.Duration(offset-before) * time.Second; gap > 0 && end.After(after) && s.matchesWallClockIn(end, before, gap) {
			return end.In(after.Location())
		}
		t = end
	}
}

// matchesWallClockIn reports whether a wall-clock minute of the schedule lies
// in the gap of length gap that starts at instant end, read in the offset
// (seconds east of UTC) in force before it.
func (s *Schedule) matchesWallClockIn(end time.Time, offset int, gap time.Duration) bool {
	// Wall-clock fields as plain UTC fields, so that arithmetic ignores zones.
	wall := end.UTC().Add(time.Duration(offset) * time.Second)
	for m := wall.Truncate(time.Minute); m.Before(wall.Add(gap)); m = m.Add(time.Minute) {
		if !m.Before(wall) && s.matchesWallClock(m) {
			return true
		}
	}
	return false
}

// starBit is set by the cron parser in a field written as * or ?.
const starBit = 1 << 63

// matchesWallClock reports whether the wall-clock fields of w (read as they
// are, whatever w's zone) satisfy the schedule. Day-of-month and day-of-week
// follow cron: when either is a wildcard both must match, otherwise either.
func (s *Schedule) matchesWallClock(w time.Time) bool {
	sp := s.spec
	has := func(bits uint64, v int) bool { return bits&(1<<uint(v)) != 0 }
	if !has(sp.Second, w.Second()) || !has(sp.Minute, w.Minute()) || !has(sp.Hour, w.Hour()) || !has(sp.Month, int(w.Month())) {
		return false
	}
	dom, dow := has(sp.Dom, w.Day()), has(sp.Dow, int(w.Weekday()))
	if sp.Dom&starBit != 0 || sp.Dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}
