//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/resolve"
)

// TestSessionLatency is a measurement, not a test: it asserts nothing about
// times. With STASH_BENCH_LATENCY=N it runs the README's PostgreSQL quick
// start, backs it up once (the repository's first backup: init, check and
// measure) and then N times more, and prints where the time from
// "BackupSession created" to "Succeeded" goes. hack/bench-session.sh runs it.
//
// The cluster runs on this machine, so the watch's receipt times and the
// containers' log timestamps are read on one clock: the step times come from
// the first and last log line of each container, to the nanosecond, not from
// the pod status (whole seconds).
func TestSessionLatency(t *testing.T) {
	runs, _ := strconv.Atoi(os.Getenv("STASH_BENCH_LATENCY"))
	if runs <= 0 {
		t.Skip("a measurement: set STASH_BENCH_LATENCY=N (hack/bench-session.sh)")
	}
	ns := setUp(t, "latency")
	startPostgres(t, ns, "source-postgres", readmeYAML(t, "postgres.yaml"))
	psql(t, ns, "source-postgres", "postgres", "create database shop")
	psql(t, ns, "source-postgres", "shop", pgSampleData)
	apply(t, ns, strings.ReplaceAll(readmeYAML(t, "repository.yaml"), "/var/lib/stash-demo-repo", hostDir(t, "repo")))
	apply(t, ns, readmeYAML(t, "backup.yaml"))
	// Only the measured sessions: the schedule's own would share the
	// repository's lock and the node.
	if _, stderr, code := stashCLI(t, ns, "pause", "source-postgres-backup"); code != 0 {
		t.Fatalf("stash pause: exit %d: %s", code, stderr)
	}

	cfg, err := kube.Config(os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	var timelines []timeline
	for i := 0; i <= runs; i++ {
		timelines = append(timelines, measureSession(t, c, ns, "source-postgres-backup"))
	}
	fmt.Print(latencyTable(timelines[0], timelines[1:]))
}

// timeline is one session's time, in the order it was spent.
type timeline struct {
	session  string
	segments []segment
	// restic holds the time of each restic subcommand, summed per name.
	restic map[string]time.Duration
	total  time.Duration
}

type segment struct {
	what string
	d    time.Duration
}

// resticTook is the line the Functions log after each restic call
// (internal/function: "restic backup took 0.52s").
var resticTook = regexp.MustCompile(`restic (\S+) took ([0-9.]+)s`)

// measureSession creates a BackupSession of bc, as stash trigger does, and
// follows it to Succeeded through watches started before the create.
func measureSession(t *testing.T, c client.WithWatch, ns, bc string) timeline {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var config stashv1beta1.BackupConfiguration
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: bc}, &config); err != nil {
		t.Fatal(err)
	}
	type event struct {
		at  time.Time
		obj client.Object
	}
	events := make(chan event, 256)
	for _, list := range []client.ObjectList{&stashv1beta1.BackupSessionList{}, &batchv1.JobList{}, &corev1.PodList{}} {
		w, err := c.Watch(ctx, list, client.InNamespace(ns))
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		go func() {
			for e := range w.ResultChan() {
				if o, ok := e.Object.(client.Object); ok && (e.Type == watch.Added || e.Type == watch.Modified) {
					events <- event{time.Now(), o}
				}
			}
		}()
	}

	bs := resolve.NewBackupSession(&config, "")
	bs.GenerateName = bc + "-"
	created := time.Now()
	if err := c.Create(ctx, bs); err != nil {
		t.Fatal(err)
	}
	var jobSeen, podSeen, scheduled, succeeded time.Time
	jobName, podName := "", ""
	for succeeded.IsZero() {
		var e event
		select {
		case e = <-events:
		case <-ctx.Done():
			diagnose(t, ns, "backupsession", bs.Name)
			t.Fatalf("BackupSession %s not Succeeded after 5 minutes", bs.Name)
		}
		switch o := e.obj.(type) {
		case *stashv1beta1.BackupSession:
			if o.Name != bs.Name {
				continue
			}
			switch p := o.Status.Phase; {
			case p == stashv1beta1.SessionSucceeded:
				succeeded = e.at
			case p.IsFinished():
				diagnose(t, ns, "backupsession", bs.Name)
				t.Fatalf("BackupSession %s: %s", bs.Name, o.Status.Phase)
			}
		case *batchv1.Job:
			if jobName == "" && slices.ContainsFunc(o.OwnerReferences, func(r metav1.OwnerReference) bool { return r.Name == bs.Name }) {
				jobName, jobSeen = o.Name, e.at
			}
		case *corev1.Pod:
			if jobName == "" || o.Labels["job-name"] != jobName {
				continue
			}
			if podName == "" {
				podName, podSeen = o.Name, e.at
			}
			if scheduled.IsZero() && o.Spec.NodeName != "" {
				scheduled = e.at
			}
		}
	}
	if podName == "" || scheduled.IsZero() {
		t.Fatalf("BackupSession %s Succeeded, but its Job's pod was not seen (job %q, pod %q)", bs.Name, jobName, podName)
	}

	var pod corev1.Pod
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: podName}, &pod); err != nil {
		t.Fatal(err)
	}
	tl := timeline{session: bs.Name, restic: map[string]time.Duration{}, total: succeeded.Sub(created)}
	add := func(what string, from, to time.Time) { tl.segments = append(tl.segments, segment{what, to.Sub(from)}) }
	add("operator: session created -> Job", created, jobSeen)
	add("job controller: Job -> pod", jobSeen, podSeen)
	add("scheduler: pod -> bound to the node", podSeen, scheduled)
	last := scheduled
	for _, ctr := range append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...) {
		first, end := containerLog(t, ns, podName, ctr.Name, tl.restic)
		add("kubelet: start of "+ctr.Name, last, first)
		add("step "+ctr.Name, first, end)
		last = end
	}
	// Negative when the last step's own status write made the session
	// Succeeded before its last log line.
	add("last step's last log line -> Succeeded seen", last, succeeded)
	t.Logf("%s: Succeeded %s after it was created", bs.Name, tl.total.Round(time.Millisecond))
	return tl
}

// containerLog returns the times of a container's first and last log line
// and adds its restic calls to restic.
func containerLog(t *testing.T, ns, pod, container string, restic map[string]time.Duration) (first, last time.Time) {
	t.Helper()
	out := mustKubectl(t, "", "-n", ns, "logs", pod, "-c", container, "--timestamps")
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		stamp, line, _ := strings.Cut(sc.Text(), " ")
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			continue
		}
		if first.IsZero() {
			first = at
		}
		last = at
		if m := resticTook.FindStringSubmatch(line); m != nil {
			secs, _ := strconv.ParseFloat(m[2], 64)
			restic["restic "+m[1]] += time.Duration(secs * float64(time.Second))
		}
	}
	if first.IsZero() {
		t.Fatalf("container %s of pod %s logged nothing: its time cannot be read from its log", container, pod)
	}
	return first, last
}

// latencyTable prints the first session and the median, min and max of the
// others, segment by segment.
func latencyTable(first timeline, warm []timeline) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nBackupSession created -> Succeeded, README PostgreSQL quick start, %d warm sessions after the first\n", len(warm))
	fmt.Fprintf(&b, "%-48s %9s %9s %9s %9s\n", "where the time goes", "first", "median", "min", "max")
	row := func(what string, f time.Duration, of func(timeline) time.Duration) {
		ds := make([]time.Duration, 0, len(warm))
		for _, tl := range warm {
			ds = append(ds, of(tl))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		med, lo, hi := time.Duration(0), time.Duration(0), time.Duration(0)
		if len(ds) > 0 {
			med, lo, hi = ds[len(ds)/2], ds[0], ds[len(ds)-1]
		}
		fmt.Fprintf(&b, "%-48s %9s %9s %9s %9s\n", what, secs(f), secs(med), secs(lo), secs(hi))
	}
	for i, s := range first.segments {
		row(s.what, s.d, func(tl timeline) time.Duration {
			if i < len(tl.segments) && tl.segments[i].what == s.what {
				return tl.segments[i].d
			}
			return 0
		})
	}
	row("total", first.total, func(tl timeline) time.Duration { return tl.total })
	names := make([]string, 0, len(first.restic))
	for name := range first.restic {
		names = append(names, name)
	}
	for _, tl := range warm {
		for name := range tl.restic {
			if _, ok := first.restic[name]; !ok && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "of which restic, per subcommand (summed over the steps):\n")
	for _, name := range names {
		row("  "+name, first.restic[name], func(tl timeline) time.Duration { return tl.restic[name] })
	}
	return b.String()
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
