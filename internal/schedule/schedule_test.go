package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseErrors(t *testing.T) {
	tests := map[string]struct {
		expr, timeZone string
		want           []string // substrings of the error, in order
	}{
		"too few fields": {
			expr: "*/5 * *",
			want: []string{`spec.schedule: "*/5 * *": expected 5 fields`, `found 3`, `use a cron expression like "*/5 * * * *" or @daily`},
		},
		"six fields (seconds are not supported)": {
			expr: "0 */5 * * * *",
			want: []string{`spec.schedule: "0 */5 * * * *": expected 5 fields`, `found 6`},
		},
		"value out of range": {
			expr: "61 * * * *",
			want: []string{`spec.schedule: "61 * * * *": `, `above maximum`, `use a cron expression like`},
		},
		"unknown descriptor": {
			expr: "@dayly",
			want: []string{`spec.schedule: "@dayly": `, `unrecognized descriptor`, `use @yearly, @monthly, @weekly, @daily or @hourly`},
		},
		"@every has no clock ticks": {
			expr: "@every 5m",
			want: []string{`spec.schedule: "@every 5m": @every is not supported`, `use a cron expression like "*/5 * * * *"`},
		},
		"unknown timeZone": {
			expr: "0 2 * * *", timeZone: "Europe/Berln",
			want: []string{`spec.timeZone: "Europe/Berln" is not a known time zone: use an IANA name such as Europe/Berlin or UTC`},
		},
		"Local is not a zone": {
			expr: "0 2 * * *", timeZone: "Local",
			want: []string{`spec.timeZone: "Local" is the operator's own zone`},
		},
		"unknown CRON_TZ": {
			expr: "CRON_TZ=Mars/Olympus 0 2 * * *",
			want: []string{`spec.schedule CRON_TZ: "Mars/Olympus" is not a known time zone`},
		},
		"CRON_TZ and nothing else": {
			expr: "CRON_TZ=UTC",
			want: []string{`spec.schedule: "CRON_TZ=UTC": nothing follows the time zone`},
		},
		"timeZone conflicts with CRON_TZ": {
			expr: "CRON_TZ=Europe/Berlin 0 2 * * *", timeZone: "America/New_York",
			want: []string{`spec.timeZone: "America/New_York" conflicts with CRON_TZ=Europe/Berlin in spec.schedule: set the time zone in one place only`},
		},
		"timeZone conflicts with TZ": {
			expr: "TZ=UTC 0 2 * * *", timeZone: "Europe/Berlin",
			want: []string{`conflicts with CRON_TZ=UTC`},
		},
		"invalid timeZone without a schedule": {
			expr: "", timeZone: "Nowhere/Town",
			want: []string{`spec.timeZone: "Nowhere/Town"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tc.expr, tc.timeZone)
			if err == nil {
				t.Fatalf("Parse(%q, %q) = nil error, want %q", tc.expr, tc.timeZone, tc.want)
			}
			msg := err.Error()
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q lacks %q (in order)", msg, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	tests := map[string]struct {
		expr, timeZone string
		wantZone       string // "" means no schedule
	}{
		"empty is no schedule":           {expr: "", wantZone: ""},
		"blank is no schedule":           {expr: "   ", wantZone: ""},
		"five fields default to UTC":     {expr: "*/5 * * * *", wantZone: "UTC"},
		"descriptor":                     {expr: "@daily", wantZone: "UTC"},
		"names of months and days":       {expr: "0 3 * JAN-MAR MON-FRI", wantZone: "UTC"},
		"timeZone field":                 {expr: "0 2 * * *", timeZone: "America/New_York", wantZone: "America/New_York"},
		"CRON_TZ prefix":                 {expr: "CRON_TZ=Europe/Berlin 0 2 * * *", wantZone: "Europe/Berlin"},
		"TZ prefix with a descriptor":    {expr: "TZ=Asia/Kolkata @daily", wantZone: "Asia/Kolkata"},
		"timeZone equal to CRON_TZ":      {expr: "CRON_TZ=Europe/Berlin 0 2 * * *", timeZone: "Europe/Berlin", wantZone: "Europe/Berlin"},
		"surrounding blanks are ignored": {expr: "  0 2 * * *  ", wantZone: "UTC"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(tc.expr, tc.timeZone)
			if err != nil {
				t.Fatalf("Parse(%q, %q): %v", tc.expr, tc.timeZone, err)
			}
			got := ""
			if s != nil {
				got = s.Location().String()
			}
			if got != tc.wantZone {
				t.Fatalf("zone = %q, want %q", got, tc.wantZone)
			}
		})
	}
}

// mustTime parses an RFC 3339 time.
func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNext(t *testing.T) {
	tests := map[string]struct {
		expr, timeZone string
		from           string
		want           []string // the next ticks, in UTC
	}{
		"every five minutes": {
			expr: "*/5 * * * *", from: "2027-01-10T10:02:00Z",
			want: []string{"2027-01-10T10:05:00Z", "2027-01-10T10:10:00Z", "2027-01-10T10:15:00Z"},
		},
		"a tick is strictly after from": {
			expr: "*/5 * * * *", from: "2027-01-10T10:05:00Z",
			want: []string{"2027-01-10T10:10:00Z"},
		},
		"02:00 New York in winter is 07:00 UTC": {
			expr: "0 2 * * *", timeZone: "America/New_York", from: "2027-01-09T12:00:00Z",
			want: []string{"2027-01-10T07:00:00Z", "2027-01-11T07:00:00Z"},
		},
		"02:00 New York in summer is 06:00 UTC": {
			expr: "0 2 * * *", timeZone: "America/New_York", from: "2027-07-09T12:00:00Z",
			want: []string{"2027-07-10T06:00:00Z"},
		},
		"CRON_TZ=Europe/Berlin in summer": {
			expr: "CRON_TZ=Europe/Berlin 0 2 * * *", from: "2027-07-09T12:00:00Z",
			want: []string{"2027-07-10T00:00:00Z"},
		},
		"@daily in a half-hour zone": {
			expr: "@daily", timeZone: "Asia/Kolkata", from: "2027-01-10T00:00:00Z",
			want: []string{"2027-01-10T18:30:00Z", "2027-01-11T18:30:00Z"},
		},
		// 2027-03-14 02:00 EST jumps to 03:00 EDT: 02:30 does not exist.
		"spring forward: a skipped time fires when the gap ends": {
			expr: "30 2 * * *", timeZone: "America/New_York", from: "2027-03-13T05:00:00Z",
			want: []string{"2027-03-13T07:30:00Z", "2027-03-14T07:00:00Z", "2027-03-15T06:30:00Z"},
		},
		"spring forward: a time after the gap is untouched": {
			expr: "0 3 * * *", timeZone: "America/New_York", from: "2027-03-13T05:00:00Z",
			want: []string{"2027-03-13T08:00:00Z", "2027-03-14T07:00:00Z", "2027-03-15T07:00:00Z"},
		},
		"spring forward: every half hour goes on by the real clock": {
			expr: "*/30 * * * *", timeZone: "America/New_York", from: "2027-03-14T06:10:00Z",
			want: []string{"2027-03-14T06:30:00Z", "2027-03-14T07:00:00Z", "2027-03-14T07:30:00Z"},
		},
		// 2027-11-07 02:00 EDT goes back to 01:00 EST: 01:30 happens twice.
		"fall back: a repeated time fires once": {
			expr: "30 1 * * *", timeZone: "America/New_York", from: "2027-11-06T00:00:00Z",
			want: []string{"2027-11-06T05:30:00Z", "2027-11-07T05:30:00Z", "2027-11-08T06:30:00Z"},
		},
		"fall back: every half hour goes on by the real clock": {
			expr: "*/30 * * * *", timeZone: "America/New_York", from: "2027-11-07T04:50:00Z",
			want: []string{"2027-11-07T05:00:00Z", "2027-11-07T05:30:00Z", "2027-11-07T06:00:00Z", "2027-11-07T06:30:00Z", "2027-11-07T07:00:00Z"},
		},
		// Lord Howe Island moves by 30 minutes: 2027-10-03 02:00 -> 02:30.
		"spring forward by half an hour": {
			expr: "15 2 * * *", timeZone: "Australia/Lord_Howe", from: "2027-10-01T13:30:00Z",
			want: []string{"2027-10-01T15:45:00Z", "2027-10-02T15:30:00Z", "2027-10-03T15:15:00Z"},
		},
		"30 February never comes": {
			expr: "0 0 30 2 *", from: "2027-01-01T00:00:00Z",
			want: []string{"0001-01-01T00:00:00Z"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(tc.expr, tc.timeZone)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			at := mustTime(t, tc.from)
			for range tc.want {
				at = s.Next(at)
				got = append(got, at.UTC().Format(time.RFC3339))
				if at.IsZero() {
					break
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("ticks after %s (-want +got):\n%s", tc.from, diff)
			}
		})
	}
}
