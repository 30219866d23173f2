package hook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"
)

// outputLimit bounds what an exec's output keeps: its tail is what matters.
const outputLimit = 64 << 10

// APIExecutor runs commands through the API server's pods/exec, as kubectl
// exec does (WebSocket, falling back to SPDY).
type APIExecutor struct {
	Config *rest.Config
}

// Exec runs command in container of pod and returns its combined output
// and exit code. A command that ran and exited non-zero is not an error.
func (e APIExecutor) Exec(ctx context.Context, namespace, pod, container string, command []string) (Output, error) {
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		return Output{}, err
	}
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(e.Config, "GET", req.URL().String())
	if err != nil {
		return Output{}, err
	}
	spdy, err := remotecommand.NewSPDYExecutor(e.Config, "POST", req.URL())
	if err != nil {
		return Output{}, err
	}
	executor, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return Output{}, err
	}
	var out lockedBuffer
	err = executor.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &out})
	o := Output{Text: out.tail()}
	var exitErr exec.CodeExitError
	if errors.As(err, &exitErr) {
		o.ExitCode = exitErr.Code
		return o, nil
	}
	if err != nil {
		return o, fmt.Errorf("exec in pod %s/%s, container %s: %w", namespace, pod, container, err)
	}
	return o, nil
}

// lockedBuffer is stdout and stderr in one, in the order written; it keeps
// the last outputLimit bytes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if extra := b.buf.Len() - outputLimit; extra > 0 {
		b.buf.Next(extra)
	}
	return len(p), nil
}

func (b *lockedBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
