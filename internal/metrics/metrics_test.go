package metrics

import "testing"

func TestParseSize(t *testing.T) {
	tests := map[string]struct {
		in   string
		want float64
		ok   bool
	}{
		"bytes":   {"512 B", 512, true},
		"mebi":    {"1.5 MiB", 1.5 * 1024 * 1024, true},
		"gibi":    {"2 GiB", 2 << 30, true},
		"no unit": {"12", 0, false},
		"unknown": {"3 MB", 0, false},
		"garbage": {"x GiB", 0, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := ParseSize(tc.in)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("ParseSize(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
