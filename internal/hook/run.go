package hook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/function"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/text"
)

// Options are run-hook's flags, as the resolver writes them.
type Options struct {
	HookType  string
	Hooks     string // the phase's handlers, JSON
	Namespace string
	Pod       string
	OutputDir string
	// What the hook belongs to, for its messages (Stash's flags).
	BackupSession, RestoreSession string
	InvokerKind, InvokerName      string
	TargetKind, TargetName        string
	Hostname                      string
	Kubeconfig                    string
	// TerminationLog is where the summary goes for the session's step
	// status (the container's termination message).
	TerminationLog string
}

// AddFlags registers the options.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.HookType, "hook-type", "", "the phase: preBackup, postBackup, preRestore or postRestore")
	fs.StringVar(&o.Hooks, "hooks", "", "the phase's hooks, in order: a JSON list of handlers (exec, httpGet, httpPost, tcpSocket)")
	fs.StringVar(&o.Namespace, "namespace", "default", "namespace of the session and the target")
	fs.StringVar(&o.Pod, "pod", "", "the target's pod: exec runs in it, and a request without host goes to its IP")
	fs.StringVar(&o.OutputDir, "output-dir", "", "where the data step wrote output.json (post hooks record a failure there)")
	fs.StringVar(&o.BackupSession, "backupsession", "", "the BackupSession")
	fs.StringVar(&o.RestoreSession, "restoresession", "", "the RestoreSession")
	fs.StringVar(&o.InvokerKind, "invoker-kind", "", "the invoker's kind")
	fs.StringVar(&o.InvokerName, "invoker-name", "", "the invoker's name")
	fs.StringVar(&o.TargetKind, "target-kind", "", "the target's kind")
	fs.StringVar(&o.TargetName, "target-name", "", "the target's name")
	fs.StringVar(&o.Hostname, "hostname", "", "the host backed up or restored")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then the in-cluster configuration)")
	fs.StringVar(&o.TerminationLog, "termination-log", "/dev/termination-log", "file for the summary the session's step shows")
}

// ErrHookFailed is what a failed pre hook returns (exit status 1).
var ErrHookFailed = errors.New("hook failed")

// Run runs the phase's hooks. A failed pre hook is an error; a failed post
// hook is recorded in output.json (an error only when there is no
// output.json to record it in).
func Run(ctx context.Context, o Options, stdout io.Writer) error {
	var hooks []stashv1beta1.Handler
	if err := json.Unmarshal([]byte(o.Hooks), &hooks); err != nil {
		return fmt.Errorf("--hooks: %w", err)
	}
	switch o.HookType {
	case PreBackup, PostBackup, PreRestore, PostRestore:
	default:
		return fmt.Errorf("--hook-type=%q: use preBackup, postBackup, preRestore or postRestore", o.HookType)
	}
	cfg, err := kube.Config(o.Kubeconfig)
	if err != nil {
		return fmt.Errorf("connect to the API server: %w", err)
	}
	r := &Runner{Phase: o.HookType, Namespace: o.Namespace, Exec: APIExecutor{Config: cfg}}
	if o.Pod != "" {
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		pod, err := cs.CoreV1().Pods(o.Namespace).Get(ctx, o.Pod, metav1.GetOptions{})
		if err != nil {
			// Reported by the hooks that need it; the others still run.
			fmt.Fprintf(stdout, "the target's pod %s/%s: %v\n", o.Namespace, o.Pod, err)
		} else {
			r.Target.Pod = pod
		}
	}
	return o.run(ctx, r, hooks, stdout)
}

// run is Run after the set-up: the part with no API server.
func (o Options) run(ctx context.Context, r *Runner, hooks []stashv1beta1.Handler, stdout io.Writer) error {
	if !IsPost(o.HookType) {
		results := r.Run(ctx, hooks, true)
		summary := o.summary(results)
		o.report(summary, stdout)
		if failed(results) {
			return fmt.Errorf("%w: %s", ErrHookFailed, summary)
		}
		return nil
	}
	out, err := o.readOutput()
	dataSucceeded := err == nil && !out.failed()
	results := r.Run(ctx, hooks, dataSucceeded)
	summary := o.summary(results)
	o.report(summary, stdout)
	if !failed(results) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s; and it cannot be recorded for update-status: %w", summary, err)
	}
	out.markFailed(o.HookType, summary)
	if err := out.write(o.OutputDir); err != nil {
		return fmt.Errorf("%s; and it cannot be recorded for update-status: %w", summary, err)
	}
	fmt.Fprintf(stdout, "recorded the failure in %s/%s\n", strings.TrimRight(o.OutputDir, "/"), function.OutputFileName)
	return nil
}

func failed(results []Result) bool {
	for _, r := range results {
		if r.Failed() {
			return true
		}
	}
	return false
}

// summary is every hook's result, one phase in one line.
func (o Options) summary(results []Result) string {
	parts := make([]string, len(results))
	for i, r := range results {
		parts[i] = r.String()
	}
	return fmt.Sprintf("%s: %s", o.HookType, strings.Join(parts, "; "))
}

// report prints the summary and leaves it as the container's termination
// message, which the session's step status shows.
func (o Options) report(summary string, stdout io.Writer) {
	fmt.Fprintln(stdout, summary)
	if o.TerminationLog != "" {
		_ = os.WriteFile(o.TerminationLog, []byte(text.CutFront(summary, terminationMessageLimit)), 0o644)
	}
}

// terminationMessageLimit is the kubelet's limit for a termination message.
const terminationMessageLimit = 4096

// output is the data step's output.json, of a backup or a restore.
type output struct {
	backup  *function.BackupOutput
	restore *function.RestoreOutput
}

func (o Options) readOutput() (output, error) {
	if o.OutputDir == "" {
		return output{}, errors.New("no --output-dir")
	}
	if IsBackup(o.HookType) {
		b, err := function.ReadBackupOutput(o.OutputDir)
		return output{backup: b}, err
	}
	r, err := function.ReadRestoreOutput(o.OutputDir)
	return output{restore: r}, err
}

func (out output) failed() bool {
	if out.backup != nil {
		return out.backup.Failed() || len(out.backup.HostBackupStats) == 0
	}
	return out.restore == nil || out.restore.Failed() || len(out.restore.HostRestoreStats) == 0
}

// markFailed fails every host for the hook phase, keeping what the data
// step did and saying so.
func (out output) markFailed(phase, summary string) {
	if out.backup != nil {
		for i := range out.backup.HostBackupStats {
			h := &out.backup.HostBackupStats[i]
			msg := summary
			if h.Phase == stashv1beta1.HostBackupSucceeded && len(h.Snapshots) > 0 {
				msg += "; the backup itself succeeded: snapshot " + snapshotNames(h.Snapshots) + " was taken and is kept"
			}
			h.Phase, h.FailedHook, h.Error = stashv1beta1.HostBackupFailed, phase, joinErrors(h.Error, msg)
		}
		return
	}
	for i := range out.restore.HostRestoreStats {
		h := &out.restore.HostRestoreStats[i]
		msg := summary
		if h.Phase == stashv1beta1.HostRestoreSucceeded {
			msg += "; the restore itself succeeded: the restored data is kept"
		}
		h.Phase, h.FailedHook, h.Error = stashv1beta1.HostRestoreFailed, phase, joinErrors(h.Error, msg)
	}
}

func (out output) write(dir string) error {
	if out.backup != nil {
		return function.WriteBackupOutput(dir, *out.backup)
	}
	return function.WriteRestoreOutput(dir, *out.restore)
}

func snapshotNames(snaps []stashv1beta1.SnapshotStats) string {
	names := make([]string, len(snaps))
	for i, s := range snaps {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

func joinErrors(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
