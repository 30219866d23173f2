package sessionview

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/text"
)

// Event is one Event about the session, as `describe` lists it.
type Event struct {
	Time   time.Time
	Type   string // Normal or Warning
	Reason string
	Note   string
}

// logTailLines of a failed step's termination message are shown; the rest
// is a `stash logs` away.
const logTailLines = 10

// Describe writes the page `stash describe` prints: what the session is,
// its outcome, its hosts, each step with exit code and (on failure) its log
// tail, what the hosts reported, the Events, and what to do next.
// eventsErr, when set, says why the Events could not be read (a viewer's
// role may not grant them): the page says so instead of showing none.
func Describe(w io.Writer, s Session, events []Event, eventsErr error, now time.Time) error {
	var b strings.Builder
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%-15s %s\n", name+":", value)
		}
	}
	field(s.Kind, s.Namespace+"/"+s.Name)
	field("Invoker", prefixed("BackupConfiguration/", s.BackupConfiguration))
	field("Repository", s.Repository)
	field("Target", s.Target)
	field("Phase", string(s.Phase()))
	reason, message := s.Outcome()
	field("Reason", reason)
	if message != "" {
		field("Message", indentAfterFirst(message, 16))
	}
	if !s.Created.IsZero() {
		field("Created", fmt.Sprintf("%s (%s ago)", s.Created.UTC().Format(time.RFC3339), age(s.Created, now)))
	}
	field("Duration", s.Status.SessionDuration)
	field("Job account", s.Status.JobServiceAccount)

	if len(s.Status.Hosts) > 0 {
		b.WriteString("\nHosts:\n")
		table(&b, []string{"HOST", "JOB", "POD", "NODE", "PROBLEM"}, func(row func(...string)) {
			for _, h := range s.Status.Hosts {
				row(h.Name, h.Job, h.Pod, h.Node, firstLine(h.Problem))
			}
		})
	}
	if len(s.Status.Steps) > 0 {
		b.WriteString("\nSteps:\n")
		table(&b, []string{"HOST", "STEP", "FUNCTION", "PHASE", "EXIT", "TIME"}, func(row func(...string)) {
			for _, st := range s.Status.Steps {
				exit := ""
				if st.ExitCode != nil {
					exit = fmt.Sprint(*st.ExitCode)
				}
				phase := string(st.Phase)
				if st.Reason != "" && st.Phase == stashv1beta1.StepFailed {
					phase += " (" + st.Reason + ")"
				}
				row(st.Host, st.Name, st.Function, phase, exit, stepTime(st, now))
			}
		})
		for _, st := range s.Status.Steps {
			if st.Phase != stashv1beta1.StepFailed || strings.TrimSpace(st.Message) == "" {
				continue
			}
			fmt.Fprintf(&b, "\nLog tail of %s, %s:\n", st.Host, st.Name)
			for _, line := range strings.Split(text.Tail(st.Message, logTailLines, 4096), "\n") {
				fmt.Fprintf(&b, "  | %s\n", line)
			}
		}
	}
	if len(s.Results) > 0 {
		b.WriteString("\nResults:\n")
		if s.Kind == "RestoreSession" {
			table(&b, []string{"HOST", "PHASE", "DURATION", "ERROR"}, func(row func(...string)) {
				for _, r := range s.Results {
					row(r.Host, r.Phase, r.Duration, firstLine(r.Error))
				}
			})
		} else {
			table(&b, []string{"HOST", "PHASE", "DURATION", "SNAPSHOT", "PATH", "SIZE", "UPLOADED", "ERROR"}, func(row func(...string)) {
				for _, r := range s.Results {
					if len(r.Snapshots) == 0 {
						row(r.Host, r.Phase, r.Duration, "", "", "", "", firstLine(r.Error))
					}
					for _, snap := range r.Snapshots {
						row(r.Host, r.Phase, r.Duration, snap.Name, snap.Path, snap.TotalSize, snap.Uploaded, firstLine(r.Error))
					}
				}
			})
		}
	}
	if eventsErr != nil {
		fmt.Fprintf(&b, "\nEvents: not readable: %v\n", eventsErr)
	}
	if len(events) > 0 {
		b.WriteString("\nEvents:\n")
		table(&b, []string{"AGE", "TYPE", "REASON", "MESSAGE"}, func(row func(...string)) {
			for _, e := range events {
				row(age(e.Time, now), e.Type, e.Reason, firstLine(e.Note))
			}
		})
	}
	if next := Next(s); len(next) > 0 {
		b.WriteString("\nNext:\n")
		for _, n := range next {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// table writes an indented table whose empty cells show "-".
func table(b *strings.Builder, header []string, rows func(row func(...string))) {
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	write := func(cells ...string) {
		for i, c := range cells {
			if c == "" {
				cells[i] = "-"
			}
		}
		fmt.Fprintf(tw, "  %s\n", strings.Join(cells, "\t"))
	}
	write(header...)
	rows(write)
	_ = tw.Flush()
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// indentAfterFirst indents every line but the first by n spaces, so that a
// multi-line message stays in its column.
func indentAfterFirst(s string, n int) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+strings.Repeat(" ", n))
}
