package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/stash-operator/stash/internal/sessionview"
)

func init() { rootCmd.AddCommand(newLogsCommand()) }

// jobNameLabel is the label the Job controller puts on a Job's pods.
const jobNameLabel = "batch.kubernetes.io/job-name"

func newLogsCommand() *cobra.Command {
	cl := &cluster{}
	var tail int64
	cmd := &cobra.Command{
		Use:   "logs [backupsession/|restoresession/]NAME",
		Short: "Print the logs of a session's pods, host by host, step by step",
		Long: `logs prints the logs of every container of the session's Jobs' pods, in the order the
steps run (init containers first), each under a header naming the host, pod and step.
A bare NAME is looked up as a BackupSession, then as a RestoreSession.

The pods are deleted with their Job (when the session is deleted, by its
BackupConfiguration's backupHistoryLimit); the log tail of a failed step stays in the
session: stash describe.

Exit status: 0 when the logs of every pod found were printed; 1 when the session
could not be read, no pod of it remains, or a log could not be read; 2 on a usage error.`,
		Example: `  stash logs source-postgres-backup-x7k2p -n demo`,
		Args:    exactArgs(1),
		RunE: cl.run(func(cn conn, cmd *cobra.Command, args []string) error {
			kind, name, err := sessionArg(args, true)
			if err != nil {
				return err
			}
			cs, err := cl.clientset()
			if err != nil {
				return err
			}
			s, err := getSession(cn.ctx, cn.client, cn.ns, kind, name)
			if err != nil {
				return err
			}
			return printLogs(cn.ctx, cs, s, tail, cmd.OutOrStdout())
		}),
	}
	cmd.Flags().Int64Var(&tail, "tail", -1, "print only the last N lines of each container's log (-1: all)")
	cl.bind(cmd)
	return cmd
}

// printLogs writes the log of each container of each pod of the session's
// Jobs. A container that cannot be read (not started yet) is a line that
// says so; the others are still printed, and the error is returned at the end.
func printLogs(ctx context.Context, cs kubernetes.Interface, s sessionview.Session, tail int64, out io.Writer) error {
	printed, failed := 0, 0
	for _, h := range s.Status.Hosts {
		if h.Job == "" {
			fmt.Fprintf(out, "==> %s: no Job (%s) <==\n", h.Name, orText(h.Problem, "not created yet"))
			continue
		}
		pods, err := cs.CoreV1().Pods(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: jobNameLabel + "=" + h.Job})
		if err != nil {
			return fmt.Errorf("list the pods of Job %s/%s: %w", s.Namespace, h.Job, err)
		}
		sort.Slice(pods.Items, func(i, j int) bool {
			return pods.Items[i].CreationTimestamp.Before(&pods.Items[j].CreationTimestamp)
		})
		if len(pods.Items) == 0 {
			fmt.Fprintf(out, "==> %s: no pod of Job %s remains <==\n", h.Name, h.Job)
			continue
		}
		for _, pod := range pods.Items {
			for _, container := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
				fmt.Fprintf(out, "==> %s pod/%s step %s <==\n", h.Name, pod.Name, container.Name)
				if err := copyLog(ctx, cs, &pod, container.Name, tail, out); err != nil {
					fmt.Fprintf(out, "(no log: %v)\n", err)
					failed++
					continue
				}
				printed++
			}
		}
	}
	switch {
	case failed > 0:
		return fmt.Errorf("%d of %d logs of %s %s/%s could not be read", failed, failed+printed, s.Kind, s.Namespace, s.Name)
	case printed == 0:
		return fmt.Errorf("no pod of %s %s/%s remains: the log tail of a failed step is in stash describe %s %s -n %s",
			s.Kind, s.Namespace, s.Name, strings.ToLower(s.Kind), s.Name, s.Namespace)
	}
	return nil
}

func copyLog(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, container string, tail int64, out io.Writer) error {
	opts := &corev1.PodLogOptions{Container: container}
	if tail >= 0 {
		opts.TailLines = &tail
	}
	stream, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, opts).Stream(ctx)
	if err != nil {
		return err
	}
	defer stream.Close()
	_, err = io.Copy(out, stream)
	return err
}

func orText(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}
