package conditions

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSetKeepsTransitionTimeWhileStatusHolds(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var conds []metav1.Condition
	if !Set(&conds, 1, "Ready", metav1.ConditionFalse, "ResolveFailed", "a", t0) {
		t.Fatal("first Set must change")
	}
	if Set(&conds, 1, "Ready", metav1.ConditionFalse, "ResolveFailed", "a", t0.Add(time.Minute)) {
		t.Fatal("identical Set must not change")
	}
	if !Set(&conds, 2, "Ready", metav1.ConditionFalse, "ResolveFailed", "b", t0.Add(2*time.Minute)) {
		t.Fatal("a new message and generation must change")
	}
	if c := Get(conds, "Ready"); !c.LastTransitionTime.Time.Equal(t0) || c.ObservedGeneration != 2 || c.Message != "b" {
		t.Fatalf("condition = %+v: the transition time must stay at the first False", c)
	}
	Set(&conds, 2, "Ready", metav1.ConditionTrue, "TaskResolved", "", t0.Add(3*time.Minute))
	if c := Get(conds, "Ready"); !c.LastTransitionTime.Time.Equal(t0.Add(3 * time.Minute)) {
		t.Fatalf("a status change must move the transition time: %+v", c)
	}
}
