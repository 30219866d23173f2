package sessionview

import (
	"fmt"
	"strings"
	"time"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// Changes are the lines that say what moved between two looks at a
// session, in the order a reader wants them: the phase (and, while nothing
// runs, why it waits), hosts that got a Job or a problem, then each step
// that started or ended. prev is nil on the first look.
func Changes(prev *Session, cur Session) []string {
	var lines []string
	before := Session{Status: &stashv1beta1.SessionStatus{}}
	if prev != nil {
		before = *prev
	}
	reason, message := cur.Outcome()
	_, messageBefore := before.Outcome()
	switch phase := cur.Phase(); {
	case prev == nil || phase != before.Phase():
		line := string(phase)
		if !phase.IsFinished() && message != "" && reason != string(stashv1beta1.ReasonRunning) {
			line += ": " + firstLine(message)
		}
		lines = append(lines, line)
	case !phase.IsFinished() && message != messageBefore && message != "":
		lines = append(lines, fmt.Sprintf("%s: %s", phase, firstLine(message)))
	}

	hostsBefore := map[string]stashv1beta1.HostStatus{}
	for _, h := range before.Status.Hosts {
		hostsBefore[h.Name] = h
	}
	for _, h := range cur.Status.Hosts {
		was := hostsBefore[h.Name]
		if h.Job != "" && was.Job != h.Job {
			lines = append(lines, fmt.Sprintf("%s: Job %s", h.Name, h.Job))
		}
		if h.Problem != "" && was.Problem != h.Problem {
			lines = append(lines, fmt.Sprintf("%s: %s", h.Name, firstLine(h.Problem)))
		}
	}

	stepsBefore := map[[2]string]stashv1beta1.StepStatus{}
	for _, st := range before.Status.Steps {
		stepsBefore[[2]string{st.Host, st.Name}] = st
	}
	for _, st := range cur.Status.Steps {
		if was, ok := stepsBefore[[2]string{st.Host, st.Name}]; ok && was.Phase == st.Phase {
			continue
		}
		if st.Phase == "" || st.Phase == stashv1beta1.StepPending {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s: step %s %s", st.Host, stepName(st), stepOutcome(st, time.Time{})))
	}
	return lines
}

// Final is the last line of a followed session: its outcome and how long it
// took, with the condition's reason and message when it did not succeed.
func Final(s Session) string {
	line := fmt.Sprintf("%s %s/%s %s", s.Kind, s.Namespace, s.Name, s.Phase())
	if s.Status.SessionDuration != "" {
		line += " in " + s.Status.SessionDuration
	}
	if s.Phase() != stashv1beta1.SessionSucceeded {
		if reason, message := s.Outcome(); reason != "" {
			line += fmt.Sprintf(" (%s): %s", reason, message)
		}
	}
	return line
}

// Summary is the one line a terminal shows, rewritten in place, while a
// session runs: its phase, how many steps ended, and which one runs.
func Summary(s Session, elapsed time.Duration) string {
	done, running := 0, []string{}
	for _, st := range s.Status.Steps {
		switch {
		case finished(st):
			done++
		case st.Phase == stashv1beta1.StepRunning:
			running = append(running, st.Host+": "+st.Name)
		}
	}
	line := fmt.Sprintf("%s %s", s.Phase(), elapsed.Round(time.Second))
	if n := len(s.Status.Steps); n > 0 {
		line += fmt.Sprintf(", %d/%d steps done", done, n)
	}
	if len(running) > 0 {
		line += ", running " + strings.Join(running, ", ")
	}
	return line
}

// stepName is the step's container, with its Function when that says more.
func stepName(st stashv1beta1.StepStatus) string {
	if st.Function == "" || strings.HasPrefix(st.Name, st.Function) {
		return st.Name
	}
	return fmt.Sprintf("%s (%s)", st.Name, st.Function)
}

// stepOutcome is a step's phase with what a reader asks next: how long it
// took, and for a failure its exit code, reason and the last line of its
// log. now > zero also times a running step.
func stepOutcome(st stashv1beta1.StepStatus, now time.Time) string {
	out := string(st.Phase)
	if st.ExitCode != nil && st.Phase == stashv1beta1.StepFailed {
		out += fmt.Sprintf(", exit %d", *st.ExitCode)
	}
	if st.Reason != "" && st.Phase == stashv1beta1.StepFailed {
		out += " (" + st.Reason + ")"
	}
	if took := stepTime(st, now); took != "" {
		out += " after " + took
	}
	if st.Phase == stashv1beta1.StepFailed && st.Message != "" {
		out += ": " + lastLine(st.Message)
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}
