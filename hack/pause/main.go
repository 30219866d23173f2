// Command pause is the pod-sandbox process of the local test cluster
// (hack/local-cluster.sh): the image localhost/pause:1 that containerd's
// sandbox_image points at, because registry.k8s.io cannot be reached here.
//
// It holds the pod's namespaces open: it sleeps until SIGINT or SIGTERM and,
// as PID 1 of pods that share their PID namespace, reaps orphaned children.
// Build it static: CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' ./hack/pause
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every child that has exited, without blocking.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
