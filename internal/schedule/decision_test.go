package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecide(t *testing.T) {
	seconds := func(n int64) *int64 { return &n }
	type want struct{ Tick, Next, Missed string } // RFC 3339 UTC, "" for none
	tests := map[string]struct {
		in      Input
		created string
		last    string
		now     string
		want    want
		wantErr string
	}{
		"on the tick": {
			in:   Input{Schedule: "*/5 * * * *"},
			last: "2027-01-10T09:55:00Z", now: "2027-01-10T10:00:00.4Z",
			want: want{Tick: "2027-01-10T10:00:00Z", Next: "2027-01-10T10:05:00Z"},
		},
		"between ticks after the last one is done": {
			in:   Input{Schedule: "*/5 * * * *"},
			last: "2027-01-10T10:00:00Z", now: "2027-01-10T10:02:00Z",
			want: want{Next: "2027-01-10T10:05:00Z"},
		},
		"a late reconcile still takes its tick": {
			in:   Input{Schedule: "*/5 * * * *"},
			last: "2027-01-10T09:55:00Z", now: "2027-01-10T10:03:00Z",
			want: want{Tick: "2027-01-10T10:00:00Z", Next: "2027-01-10T10:05:00Z"},
		},
		"first tick after creation": {
			in:      Input{Schedule: "*/5 * * * *"},
			created: "2027-01-10T09:58:00Z", now: "2027-01-10T10:00:03Z",
			want: want{Tick: "2027-01-10T10:00:00Z", Next: "2027-01-10T10:05:00Z"},
		},
		"no tick before creation": {
			in:      Input{Schedule: "*/5 * * * *"},
			created: "2027-01-10T10:01:00Z", now: "2027-01-10T10:02:00Z",
			want: want{Next: "2027-01-10T10:05:00Z"},
		},
		"a recent missed tick is caught up once, older ones are not": {
			in:   Input{Schedule: "*/5 * * * *"},
			last: "2027-01-10T09:30:00Z", now: "2027-01-10T10:03:00Z",
			want: want{Tick: "2027-01-10T10:00:00Z", Next: "2027-01-10T10:05:00Z", Missed: "2027-01-10T09:35:00Z"},
		},
		"a missed tick older than the deadline is not caught up": {
			in:   Input{Schedule: "0 * * * *"},
			last: "2027-01-10T08:00:00Z", now: "2027-01-10T10:06:00Z",
			want: want{Next: "2027-01-10T11:00:00Z", Missed: "2027-01-10T09:00:00Z"},
		},
		"exactly the deadline old is in time": {
			in:   Input{Schedule: "0 * * * *"},
			last: "2027-01-10T09:00:00Z", now: "2027-01-10T10:05:00.9Z",
			want: want{Tick: "2027-01-10T10:00:00Z", Next: "2027-01-10T11:00:00Z"},
		},
		"a second more than the deadline is too late": {
			in:   Input{Schedule: "0 * * * *"},
			last: "2027-01-10T09:00:00Z", now: "2027-01-10T10:05:01Z",
			want: want{Next: "2027-01-10T11:00:00Z", Missed: "2027-01-10T10:00:00Z"},
		},
		"a longer deadline catches up an hour": {
			in:   Input{Schedule: "0 * * * *", StartingDeadlineSeconds: seconds(3600)},
			last: "2027-01-10T08:00:00Z", now: "2027-01-10T10:59:00Z",
			want: want{Tick: "2027-01-10T10:00:00Z", Next: "2027-01-10T11:00:00Z", Missed: "2027-01-10T09:00:00Z"},
		},
		"deadline 0 takes the tick within its second only": {
			in:   Input{Schedule: "0 * * * *", StartingDeadlineSeconds: seconds(0)},
			last: "2027-01-10T09:00:00Z", now: "2027-01-10T10:00:00.7Z",
			want: want{Tick: "2027-01-10T10:00:00Z", Next: "2027-01-10T11:00:00Z"},
		},
		"deadline 0 and a second late": {
			in:   Input{Schedule: "0 * * * *", StartingDeadlineSeconds: seconds(0)},
			last: "2027-01-10T09:00:00Z", now: "2027-01-10T10:00:01Z",
			want: want{Next: "2027-01-10T11:00:00Z", Missed: "2027-01-10T10:00:00Z"},
		},
		"paused: no tick and no next": {
			in:   Input{Schedule: "*/5 * * * *", Paused: true},
			last: "2027-01-10T09:55:00Z", now: "2027-01-10T10:00:00Z",
			want: want{},
		},
		"no schedule: manual sessions only": {
			in:   Input{},
			last: "2027-01-10T09:55:00Z", now: "2027-01-10T10:00:00Z",
			want: want{},
		},
		"clock behind the last tick": {
			in:   Input{Schedule: "*/5 * * * *"},
			last: "2027-01-10T10:10:00Z", now: "2027-01-10T10:02:00Z",
			want: want{Next: "2027-01-10T10:15:00Z"},
		},
		"a year down with a schedule every minute": {
			in:   Input{Schedule: "* * * * *"},
			last: "2026-01-10T10:00:00Z", now: "2027-01-10T10:00:30Z",
			want: want{Tick: "2027-01-10T10:00:00Z", Next: "2027-01-10T10:01:00Z", Missed: "2026-01-10T10:01:00Z"},
		},
		"timeZone: 02:00 New York in winter fires at 07:00 UTC": {
			in:   Input{Schedule: "0 2 * * *", TimeZone: "America/New_York"},
			last: "2027-01-09T07:00:00Z", now: "2027-01-10T07:00:30Z",
			want: want{Tick: "2027-01-10T07:00:00Z", Next: "2027-01-11T07:00:00Z"},
		},
		"timeZone: nothing at 02:00 UTC": {
			in:   Input{Schedule: "0 2 * * *", TimeZone: "America/New_York"},
			last: "2027-01-09T07:00:00Z", now: "2027-01-10T02:00:30Z",
			want: want{Next: "2027-01-10T07:00:00Z"},
		},
		"DST gap: 02:30 New York runs at 03:00 EDT": {
			in:   Input{Schedule: "30 2 * * *", TimeZone: "America/New_York"},
			last: "2027-03-13T07:30:00Z", now: "2027-03-14T07:00:10Z",
			want: want{Tick: "2027-03-14T07:00:00Z", Next: "2027-03-15T06:30:00Z"},
		},
		"DST repeat: 01:30 New York does not run again at 01:30 EST": {
			in:   Input{Schedule: "30 1 * * *", TimeZone: "America/New_York"},
			last: "2027-11-07T05:30:00Z", now: "2027-11-07T06:30:10Z",
			want: want{Next: "2027-11-08T06:30:00Z"},
		},
		"invalid schedule": {
			in:      Input{Schedule: "*/5 * *"},
			now:     "2027-01-10T10:00:00Z",
			wantErr: `spec.schedule: "*/5 * *": expected 5 fields`,
		},
		"invalid schedule is reported while paused": {
			in:      Input{Schedule: "*/5 * *", Paused: true},
			now:     "2027-01-10T10:00:00Z",
			wantErr: `spec.schedule: "*/5 * *"`,
		},
		"invalid time zone": {
			in:      Input{Schedule: "0 2 * * *", TimeZone: "America/NewYork"},
			now:     "2027-01-10T10:00:00Z",
			wantErr: `spec.timeZone: "America/NewYork" is not a known time zone`,
		},
	}
	parse := func(t *testing.T, s string) time.Time {
		t.Helper()
		if s == "" {
			return time.Time{}
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	format := func(v time.Time) string {
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format(time.RFC3339)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			in.Created = parse(t, tc.created)
			in.LastScheduleTime = parse(t, tc.last)
			started := time.Now()
			d, err := Decide(in, parse(t, tc.now))
			if took := time.Since(started); took > 100*time.Millisecond {
				t.Errorf("Decide took %v", took)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{Tick: format(d.Tick), Next: format(d.Next), Missed: format(d.Missed)}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("decision (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecideIsIdempotent: deciding again at the same time, after the tick was
// recorded as the last one, fires nothing more; and any later time within the
// same tick period fires nothing either.
func TestDecideIsIdempotent(t *testing.T) {
	in := Input{Schedule: "*/5 * * * *", LastScheduleTime: mustTime(t, "2027-01-10T09:30:00Z")}
	now := mustTime(t, "2027-01-10T10:03:00Z")
	d, err := Decide(in, now)
	if err != nil || d.Tick.IsZero() {
		t.Fatalf("first decision: %+v, %v", d, err)
	}
	in.LastScheduleTime = d.Tick
	for at := now; at.Before(d.Next); at = at.Add(30 * time.Second) {
		again, err := Decide(in, at)
		if err != nil {
			t.Fatal(err)
		}
		if !again.Tick.IsZero() {
			t.Fatalf("at %s a second tick %s after %s was recorded", at, again.Tick, d.Tick)
		}
	}
}
