// Package deps holds what every controller of the operator is built with:
// its clients, its clock and its event recorder, filled from the manager
// unless a test set them.
package deps

import (
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Deps are a controller's dependencies.
type Deps struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads the API server directly, where a stale cache would
	// be wrong (what was just created) or would cache too much (Secrets).
	APIReader client.Reader
	// Clock tells the time of schedules, timeouts, durations and conditions.
	Clock clock.PassiveClock
	// Recorder records the controller's Events.
	Recorder events.EventRecorder
}

// Default sets what is not set from mgr; eventSource names the Events'
// reporting controller.
func (d *Deps) Default(mgr ctrl.Manager, eventSource string) {
	if d.Client == nil {
		d.Client = mgr.GetClient()
	}
	if d.APIReader == nil {
		d.APIReader = mgr.GetAPIReader()
	}
	if d.Clock == nil {
		d.Clock = clock.RealClock{}
	}
	if d.Recorder == nil {
		d.Recorder = mgr.GetEventRecorder(eventSource)
	}
}
