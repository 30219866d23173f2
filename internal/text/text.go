// Package text cuts the messages the operator writes (condition messages,
// Event notes, a step's log tail) to the sizes the API server accepts, in
// one way: on rune boundaries, with "…" where something was cut; and writes
// sizes as Stash shows them.
package text

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of what the API server accepts.
const (
	// MaxConditionMessage is the longest message of a metav1.Condition.
	MaxConditionMessage = 32 * 1024
	// MaxEventNote is the longest note of an events.k8s.io/v1 Event.
	MaxEventNote = 1024
)

const ellipsis = "…"

// CutBack keeps the first max bytes of s, on a rune boundary, ending in "…"
// when something was cut.
func CutBack(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max-len(ellipsis)]
	for len(s) > 0 {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1] // part of a rune that the cut split
	}
	return s + ellipsis
}

// CutFront keeps the last max bytes of s, on a rune boundary, starting with
// "…" when something was cut: the end of a log is where its error is.
func CutFront(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[len(s)-max+len(ellipsis):]
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return ellipsis + s
}

// Tail is the end of a log or termination message: its last lines, at most
// maxBytes of them.
func Tail(msg string, lines, maxBytes int) string {
	msg = strings.TrimSpace(msg)
	all := strings.Split(msg, "\n")
	if len(all) > lines {
		msg = strings.Join(all[len(all)-lines:], "\n")
	}
	return CutFront(msg, maxBytes)
}

// JoinLines joins lines with newlines within max bytes: whole lines are
// dropped from the end, and a last line says how many ("… and 3 more"), so
// that what is kept can still be read line by line.
func JoinLines(lines []string, max int) string {
	msg := strings.Join(lines, "\n")
	if len(msg) <= max {
		return msg
	}
	const tailRoom = 32 // "\n… and N more"
	size, kept := 0, 0
	for kept < len(lines) && size+len(lines[kept])+1 <= max-tailRoom {
		size += len(lines[kept]) + 1
		kept++
	}
	if kept == 0 {
		return CutBack(msg, max)
	}
	return strings.Join(lines[:kept], "\n") + fmt.Sprintf("\n%s and %d more", ellipsis, len(lines)-kept)
}

// Bytes humanises a size the way Stash shows it in status and
// output.json: binary units with one decimal ("1.2 GiB"), plain bytes below
// 1 KiB ("512 B").
func Bytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / unit
	i := 0
	// Move up a unit when rounding to one decimal would print "1024.0".
	for v >= unit-0.05 && i < len(units)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
