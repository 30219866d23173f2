// Package hook runs the hooks of a backup or restore (`stash run-hook`):
// the handlers of one phase (preBackup, postBackup, preRestore,
// postRestore) in order, each with a timeout. exec runs in the target's pod
// through the API server; httpGet, httpPost and tcpSocket act as
// Kubernetes probes do, against the target pod's IP unless they name a
// host.
//
// A pre hook that fails stops the Job before any data moves: run-hook
// exits non-zero and the session fails naming the hook. Post hooks run
// after the data step, also when it failed, each as its executionPolicy
// says and whatever the ones before it did; a failure is recorded in the
// data step's output.json (the host Failed, the hook named, what the data
// step wrote kept), and run-hook exits 0 so that update-status reports it.
package hook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/text"
)

// The hook phases, as Stash's --hook-type names them.
const (
	PreBackup   = "preBackup"
	PostBackup  = "postBackup"
	PreRestore  = "preRestore"
	PostRestore = "postRestore"
)

// IsPost reports whether phase runs after the data step.
func IsPost(phase string) bool { return phase == PostBackup || phase == PostRestore }

// IsBackup reports whether phase is a backup's.
func IsBackup(phase string) bool { return phase == PreBackup || phase == PostBackup }

// Executor runs a command in a container of a pod: the API server's
// pods/exec.
type Executor interface {
	Exec(ctx context.Context, namespace, pod, container string, command []string) (Output, error)
}

// Output is what a command or request printed, and how it ended.
type Output struct {
	// ExitCode of an exec; 0 for the other handlers.
	ExitCode int
	// Text is its stdout and stderr (or an HTTP response's body), in the
	// order written where they can be told apart.
	Text string
}

// Target is the pod the hooks act on: exec runs in it, and a request
// without a host goes to its IP; nil when no pod of the target runs.
type Target struct {
	Pod *corev1.Pod
}

// A Result is what one hook did.
type Result struct {
	// Index is the hook's place in its phase, from 1.
	Index int
	// What the hook is: "exec [sync] in pod db-0, container db".
	What    string
	Skipped string // why it did not run (executionPolicy), or ""
	Output  Output
	Err     error
	Took    time.Duration
}

// Failed reports whether the hook ran and failed.
func (r Result) Failed() bool { return r.Err != nil }

// outputTail is how much of a hook's output a message carries.
const outputTail = 1024

// String is the result as the session's step shows it.
func (r Result) String() string {
	switch {
	case r.Skipped != "":
		return fmt.Sprintf("hook %d (%s) skipped: %s", r.Index, r.What, r.Skipped)
	case r.Err != nil:
		msg := fmt.Sprintf("hook %d (%s) failed after %s: %v", r.Index, r.What, r.Took.Round(time.Millisecond), r.Err)
		if out := strings.TrimSpace(r.Output.Text); out != "" {
			msg += ": " + text.CutFront(out, outputTail)
		}
		return msg
	}
	msg := fmt.Sprintf("hook %d (%s) succeeded in %s", r.Index, r.What, r.Took.Round(time.Millisecond))
	if out := strings.TrimSpace(r.Output.Text); out != "" {
		msg += ": " + text.CutFront(out, outputTail)
	}
	return msg
}

// Runner runs the hooks of one phase.
type Runner struct {
	Phase     string
	Namespace string
	Target    Target
	Exec      Executor
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Run runs hooks in order. dataSucceeded is whether the data step
// succeeded (post phases; ignored for pre). A pre phase stops at the first
// failure; a post phase runs every hook its executionPolicy allows.
func (r *Runner) Run(ctx context.Context, hooks []stashv1beta1.Handler, dataSucceeded bool) []Result {
	results := make([]Result, 0, len(hooks))
	for i, h := range hooks {
		res := Result{Index: i + 1, What: r.describe(h)}
		if IsPost(r.Phase) {
			if why := skipReason(h.ExecutionPolicy, dataSucceeded, IsBackup(r.Phase)); why != "" {
				res.Skipped = why
				results = append(results, res)
				continue
			}
		}
		start := r.now()
		res.Output, res.Err = r.runOne(ctx, h)
		res.Took = r.now().Sub(start)
		results = append(results, res)
		if res.Failed() && !IsPost(r.Phase) {
			break
		}
	}
	return results
}

// skipReason is why a post hook with policy does not run, or "".
func skipReason(policy stashv1beta1.HookExecutionPolicy, dataSucceeded, backup bool) string {
	what := "restore"
	if backup {
		what = "backup"
	}
	switch {
	case policy == stashv1beta1.HookOnSuccess && !dataSucceeded:
		return fmt.Sprintf("executionPolicy OnSuccess, and the %s failed", what)
	case policy == stashv1beta1.HookOnFailure && dataSucceeded:
		return fmt.Sprintf("executionPolicy OnFailure, and the %s succeeded", what)
	}
	return ""
}

// timeout is the hook's own, or the default.
func timeout(h stashv1beta1.Handler) time.Duration {
	if h.TimeoutSeconds != nil && *h.TimeoutSeconds > 0 {
		return time.Duration(*h.TimeoutSeconds) * time.Second
	}
	return stashv1beta1.DefaultHookTimeoutSeconds * time.Second
}

// runOne runs one handler within its timeout.
func (r *Runner) runOne(ctx context.Context, h stashv1beta1.Handler) (Output, error) {
	limit := timeout(h)
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	out, err := r.dispatch(ctx, h)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s (timeoutSeconds): %w", limit, err)
	}
	return out, err
}

func (r *Runner) dispatch(ctx context.Context, h stashv1beta1.Handler) (Output, error) {
	switch {
	case h.Exec != nil:
		pod, container, err := r.execTarget(h)
		if err != nil {
			return Output{}, err
		}
		if len(h.Exec.Command) == 0 {
			return Output{}, errors.New("exec has no command")
		}
		out, err := r.Exec.Exec(ctx, r.Namespace, pod, container, h.Exec.Command)
		if err == nil && out.ExitCode != 0 {
			err = fmt.Errorf("exit code %d", out.ExitCode)
		}
		return out, err
	case h.HTTPGet != nil:
		g := h.HTTPGet
		return r.http(ctx, "GET", g.Scheme, g.Host, g.Port, g.Path, g.HTTPHeaders, nil)
	case h.HTTPPost != nil:
		p := h.HTTPPost
		body, contentType := postBody(p)
		headers := p.HTTPHeaders
		if contentType != "" && !hasHeader(headers, "Content-Type") {
			headers = append(append([]corev1.HTTPHeader(nil), headers...), corev1.HTTPHeader{Name: "Content-Type", Value: contentType})
		}
		return r.http(ctx, "POST", p.Scheme, p.Host, p.Port, p.Path, headers, body)
	case h.TCPSocket != nil:
		return r.tcp(ctx, h.TCPSocket)
	}
	return Output{}, errors.New("the hook sets none of exec, httpGet, httpPost or tcpSocket")
}

// execTarget is the pod and container an exec runs in.
func (r *Runner) execTarget(h stashv1beta1.Handler) (pod, container string, err error) {
	p := r.Target.Pod
	if p == nil {
		return "", "", errors.New("no pod of the target ran when the Job was made, so there is nothing to exec in: start the target, or use an HTTP or TCP hook")
	}
	container = h.ContainerName
	if container == "" {
		if len(p.Spec.Containers) == 0 {
			return "", "", fmt.Errorf("pod %s has no container", p.Name)
		}
		container = p.Spec.Containers[0].Name
	}
	for _, c := range p.Spec.Containers {
		if c.Name == container {
			return p.Name, container, nil
		}
	}
	return "", "", fmt.Errorf("pod %s has no container %q (containerName); it has %s", p.Name, container, containerNames(p))
}

func containerNames(p *corev1.Pod) string {
	names := make([]string, len(p.Spec.Containers))
	for i, c := range p.Spec.Containers {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// describe says what a hook does, for its messages.
func (r *Runner) describe(h stashv1beta1.Handler) string {
	switch {
	case h.Exec != nil:
		where := "the target's pod"
		if p := r.Target.Pod; p != nil {
			where = "pod " + p.Name
			if c := h.ContainerName; c != "" {
				where += ", container " + c
			} else if len(p.Spec.Containers) > 0 {
				where += ", container " + p.Spec.Containers[0].Name
			}
		}
		return fmt.Sprintf("exec %s in %s", text.CutBack(fmt.Sprint(h.Exec.Command), 200), where)
	case h.HTTPGet != nil:
		return "httpGet " + describeURL(h.HTTPGet.Scheme, h.HTTPGet.Host, h.HTTPGet.Port.String(), h.HTTPGet.Path)
	case h.HTTPPost != nil:
		return "httpPost " + describeURL(h.HTTPPost.Scheme, h.HTTPPost.Host, h.HTTPPost.Port.String(), h.HTTPPost.Path)
	case h.TCPSocket != nil:
		host := h.TCPSocket.Host
		if host == "" {
			host = "the target's pod"
		}
		return fmt.Sprintf("tcpSocket %s port %s", host, h.TCPSocket.Port.String())
	}
	return "an empty hook"
}

func describeURL(scheme corev1.URIScheme, host, port, path string) string {
	if scheme == "" {
		scheme = corev1.URISchemeHTTP
	}
	if host == "" {
		host = "<the target's pod>"
	}
	return fmt.Sprintf("%s://%s:%s%s", strings.ToLower(string(scheme)), host, port, path)
}
