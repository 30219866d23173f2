package resolve

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// Environment variables through which nice and ionice reach the data-plane
// commands, which wrap restic with them.
const (
	EnvNiceAdjustment  = "NICE_ADJUSTMENT"
	EnvIONiceClass     = "IONICE_CLASS"
	EnvIONiceClassData = "IONICE_CLASS_DATA"
)

// applyContainerSettings lays s over c: resources, probes, lifecycle and
// securityContext replace c's when set; env is upserted by name (s wins);
// envFrom is appended. Unlike Stash, requests are replaced when the settings
// have requests (Stash checked limits twice and so dropped requests).
func applyContainerSettings(c *corev1.Container, s *stashv1beta1.ContainerRuntimeSettings) {
	if s == nil {
		return
	}
	if len(s.Resources.Limits) > 0 {
		c.Resources.Limits = s.Resources.Limits.DeepCopy()
	}
	if len(s.Resources.Requests) > 0 {
		c.Resources.Requests = s.Resources.Requests.DeepCopy()
	}
	if s.LivenessProbe != nil {
		c.LivenessProbe = s.LivenessProbe.DeepCopy()
	}
	if s.ReadinessProbe != nil {
		c.ReadinessProbe = s.ReadinessProbe.DeepCopy()
	}
	if s.Lifecycle != nil {
		c.Lifecycle = s.Lifecycle.DeepCopy()
	}
	if s.SecurityContext != nil {
		c.SecurityContext = s.SecurityContext.DeepCopy()
	}
	for _, e := range s.Env {
		c.Env = upsertEnv(c.Env, *e.DeepCopy())
	}
	for _, e := range s.EnvFrom {
		c.EnvFrom = append(c.EnvFrom, *e.DeepCopy())
	}
	if s.Nice != nil && s.Nice.Adjustment != nil {
		c.Env = upsertEnv(c.Env, corev1.EnvVar{Name: EnvNiceAdjustment, Value: strconv.Itoa(int(*s.Nice.Adjustment))})
	}
	if s.IONice != nil {
		if s.IONice.Class != nil {
			c.Env = upsertEnv(c.Env, corev1.EnvVar{Name: EnvIONiceClass, Value: strconv.Itoa(int(*s.IONice.Class))})
		}
		if s.IONice.ClassData != nil {
			c.Env = upsertEnv(c.Env, corev1.EnvVar{Name: EnvIONiceClassData, Value: strconv.Itoa(int(*s.IONice.ClassData))})
		}
	}
}

func upsertEnv(env []corev1.EnvVar, e corev1.EnvVar) []corev1.EnvVar {
	for i := range env {
		if env[i].Name == e.Name {
			env[i] = e
			return env
		}
	}
	return append(env, e)
}

// applyPodSettings lays s over p: every field that is set replaces p's;
// imagePullSecrets are merged by name.
func applyPodSettings(p *corev1.PodSpec, s *stashv1beta1.PodRuntimeSettings) {
	if s == nil {
		return
	}
	s = s.DeepCopy()
	if len(s.NodeSelector) > 0 {
		p.NodeSelector = s.NodeSelector
	}
	if s.ServiceAccountName != "" {
		p.ServiceAccountName = s.ServiceAccountName
	}
	if s.AutomountServiceAccountToken != nil {
		p.AutomountServiceAccountToken = s.AutomountServiceAccountToken
	}
	if s.NodeName != "" {
		p.NodeName = s.NodeName
	}
	if s.SecurityContext != nil {
		p.SecurityContext = s.SecurityContext
	}
	for _, secret := range s.ImagePullSecrets {
		if !containsSecret(p.ImagePullSecrets, secret.Name) {
			p.ImagePullSecrets = append(p.ImagePullSecrets, secret)
		}
	}
	if s.Affinity != nil {
		p.Affinity = s.Affinity
	}
	if s.SchedulerName != "" {
		p.SchedulerName = s.SchedulerName
	}
	if len(s.Tolerations) > 0 {
		p.Tolerations = s.Tolerations
	}
	if s.PriorityClassName != "" {
		p.PriorityClassName = s.PriorityClassName
	}
	if s.Priority != nil {
		p.Priority = s.Priority
	}
	if len(s.ReadinessGates) > 0 {
		p.ReadinessGates = s.ReadinessGates
	}
	if s.RuntimeClassName != nil {
		p.RuntimeClassName = s.RuntimeClassName
	}
	if s.EnableServiceLinks != nil {
		p.EnableServiceLinks = s.EnableServiceLinks
	}
}

func containsSecret(refs []corev1.LocalObjectReference, name string) bool {
	for _, r := range refs {
		if r.Name == name {
			return true
		}
	}
	return false
}
