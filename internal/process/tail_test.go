package process

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTail(t *testing.T) {
	var many strings.Builder
	for i := range 25 {
		fmt.Fprintf(&many, "line %d\n", i)
	}
	runaway := strings.Repeat("x", 5000)
	tests := map[string]struct {
		keep   int
		chunks []string
		flush  bool
		want   []string
		// watched is what the watcher saw; nil means the same as want.
		watched []string
	}{
		"lines split across writes": {keep: 3, chunks: []string{"a\nb", "\nc\nd\n", "e"},
			want: []string{"c", "d", "e"}, watched: []string{"a", "b", "c", "d"}},
		"the last lines, the last one still being written": {keep: 10, chunks: []string{many.String(), runaway},
			want: append(lines(16, 24), runaway[:MaxLineLen]), watched: lines(0, 24)},
		"a runaway line keeps its start": {keep: 2, chunks: []string{runaway + "\n"},
			want: []string{runaway[:MaxLineLen]}},
		"blank lines, carriage returns and terminal escapes dropped": {keep: 5, chunks: []string{"\n  \r\n\x1b[2Kretrying after 1s: dial tcp\r\n\tindented  \n"},
			want: []string{"retrying after 1s: dial tcp", "indented"}},
		"flush hands the last line to the watcher": {keep: 5, chunks: []string{"ERROR:  first\nERROR:  last"}, flush: true,
			want: []string{"ERROR:  first", "ERROR:  last"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var watched []string
			tail := NewTail(tc.keep, func(l string) { watched = append(watched, l) })
			for _, c := range tc.chunks {
				if n, err := tail.Write([]byte(c)); err != nil || n != len(c) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if tc.flush {
				tail.Flush()
			}
			if diff := cmp.Diff(tc.want, tail.Lines()); diff != "" {
				t.Fatalf("Lines() mismatch (-want +got):\n%s", diff)
			}
			wantWatched := tc.watched
			if wantWatched == nil {
				wantWatched = tc.want
			}
			if diff := cmp.Diff(wantWatched, watched); diff != "" {
				t.Fatalf("watcher mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// lines is "line from" ... "line to".
func lines(from, to int) []string {
	var l []string
	for i := from; i <= to; i++ {
		l = append(l, fmt.Sprintf("line %d", i))
	}
	return l
}
