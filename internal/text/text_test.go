package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCuts(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes of two-byte runes
	tests := map[string]struct {
		got        string
		max        int
		prefix     string
		suffix     string
		unchanged  string
		wantSameAs string
	}{
		"CutBack keeps the start":        {got: CutBack(long, MaxEventNote), max: MaxEventNote, suffix: "é…"},
		"CutFront keeps the end":         {got: CutFront(long, MaxEventNote), max: MaxEventNote, prefix: "…é"},
		"Tail keeps the last bytes":      {got: Tail(strings.Repeat("ü", 1000), 10, 1024), max: 1024, prefix: "…ü"},
		"a short message stays (back)":   {got: CutBack("ok", MaxEventNote), wantSameAs: "ok"},
		"a short message stays (front)":  {got: CutFront("ok", MaxEventNote), wantSameAs: "ok"},
		"Tail keeps the last lines only": {got: Tail("1\n2\n3\n4\n", 2, 1024), wantSameAs: "3\n4"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.wantSameAs != "" {
				if tc.got != tc.wantSameAs {
					t.Fatalf("got %q, want %q", tc.got, tc.wantSameAs)
				}
				return
			}
			if len(tc.got) > tc.max || !utf8.ValidString(tc.got) {
				t.Errorf("%d bytes (max %d), valid UTF-8: %v", len(tc.got), tc.max, utf8.ValidString(tc.got))
			}
			if !strings.HasPrefix(tc.got, tc.prefix) || !strings.HasSuffix(tc.got, tc.suffix) {
				t.Errorf("got %q…%q, want prefix %q and suffix %q", tc.got[:8], tc.got[len(tc.got)-8:], tc.prefix, tc.suffix)
			}
		})
	}
}

func TestJoinLinesFitsACondition(t *testing.T) {
	lines := make([]string, 1000)
	for i := range lines {
		lines[i] = strings.Repeat("x", 100)
	}
	msg := JoinLines(lines, MaxConditionMessage)
	if len(msg) > MaxConditionMessage {
		t.Fatalf("message has %d bytes, more than %d", len(msg), MaxConditionMessage)
	}
	if !strings.HasSuffix(msg, " more") || !strings.HasPrefix(msg, lines[0]+"\n") {
		t.Fatalf("message does not keep whole lines and say how many were left out: …%s", msg[len(msg)-40:])
	}
	for _, l := range strings.Split(msg, "\n")[:10] {
		if l != lines[0] {
			t.Fatalf("a kept line was cut: %q", l)
		}
	}
	if short := []string{"a", "b"}; JoinLines(short, MaxConditionMessage) != "a\nb" {
		t.Fatalf("short lines were changed")
	}
}

func TestBytes(t *testing.T) {
	tests := map[string]struct {
		n    uint64
		want string
	}{
		"zero":           {0, "0 B"},
		"bytes":          {512, "512 B"},
		"just below KiB": {1023, "1023 B"},
		"KiB":            {1024, "1.0 KiB"},
		"MiB":            {109*1024*1024 + 200*1024, "109.2 MiB"},
		"GiB":            {1288490189, "1.2 GiB"},
		"rounds up unit": {1024*1024 - 1, "1.0 MiB"},
		"TiB":            {3 << 40, "3.0 TiB"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Bytes(tc.n); got != tc.want {
				t.Fatalf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
			}
		})
	}
}
