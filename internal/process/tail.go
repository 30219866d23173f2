package process

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
)

// MaxLineLen caps each line a Tail keeps: a runaway line must not use
// unbounded memory, and its start says what it is.
const MaxLineLen = 1024

// ansiEscape matches the terminal control sequences restic prints before
// some messages even when stderr is not a terminal.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// Tail is a child's stderr: it keeps the last lines for the error that
// reports a failure, and hands each line to a watcher as it completes.
// os/exec writes to it from its own goroutine while the caller may read it.
type Tail struct {
	mu      sync.Mutex
	keep    int
	lines   []string
	partial []byte
	onLine  func(string)
}

// NewTail keeps the last keep non-blank lines; onLine, when not nil, sees
// each of them as it completes.
func NewTail(keep int, onLine func(string)) *Tail {
	return &Tail{keep: keep, onLine: onLine}
}

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			t.partial = appendCapped(t.partial, rest)
			break
		}
		t.partial = appendCapped(t.partial, rest[:i])
		t.push()
		rest = rest[i+1:]
	}
	return len(p), nil
}

// appendCapped keeps the start of a line, up to MaxLineLen bytes.
func appendCapped(dst, src []byte) []byte {
	if room := MaxLineLen - len(dst); room < len(src) {
		if room <= 0 {
			return dst
		}
		src = src[:room]
	}
	return append(dst, src...)
}

func cleanLine(b []byte) string {
	return strings.TrimSpace(ansiEscape.ReplaceAllString(string(b), ""))
}

// push ends the partial line; t.mu is held.
func (t *Tail) push() {
	line := cleanLine(t.partial)
	t.partial = t.partial[:0]
	if line == "" {
		return
	}
	if t.onLine != nil {
		t.onLine(line)
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > t.keep {
		t.lines = t.lines[len(t.lines)-t.keep:]
	}
}

// Flush ends a last line written without a newline, so that the watcher
// sees it too. Call it once the child has exited.
func (t *Tail) Flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.push()
}

// Lines are the last lines, the last of them possibly still without its
// newline.
func (t *Tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := append([]string(nil), t.lines...)
	if p := cleanLine(t.partial); p != "" {
		lines = append(lines, p)
	}
	return lines[max(0, len(lines)-t.keep):]
}
