// Package podsecurity keeps the pods the operator makes within Pod Security
// "restricted" wherever their work allows it, and says, before a Job is
// created, when the level a namespace enforces would refuse its pod: the
// API server refuses such pods only when the Job controller makes them,
// where nobody reads the reason.
package podsecurity

import (
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"
)

// EnforceLabel is the namespace label that sets the enforced level.
const EnforceLabel = api.EnforceLevelLabel

// RestrictedContainer is the security context of every container that runs
// the stash image: all that Pod Security "restricted" asks of a container.
// The image runs as 65532, so runAsNonRoot holds. A Function's or an
// invoker's runtimeSettings.securityContext replaces it whole, which is how
// the PVC restore step asks for root.
func RestrictedContainer() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

var evaluator = sync.OnceValues(func() (policy.Evaluator, error) {
	return policy.NewEvaluator(policy.DefaultChecks(), nil)
})

// Refusal is why the level that namespaceLabels enforce would refuse a pod
// of spec, with what to do about it; "" when it would admit it. A
// namespace without the label enforces the cluster's default, which the
// operator cannot read: it is taken to be "privileged", Kubernetes' own
// default.
func Refusal(namespace string, namespaceLabels map[string]string, meta *metav1.ObjectMeta, spec *corev1.PodSpec) (string, error) {
	level, ok := namespaceLabels[EnforceLabel]
	if !ok {
		return "", nil
	}
	p, errs := api.PolicyToEvaluate(namespaceLabels, api.Policy{Enforce: api.LevelVersion{Level: api.LevelPrivileged, Version: api.LatestVersion()}})
	if len(errs) > 0 {
		// The API server treats an unparsable label as "restricted" at the
		// latest version, and so does PolicyToEvaluate.
		level = string(p.Enforce.Level)
	}
	e, err := evaluator()
	if err != nil {
		return "", fmt.Errorf("pod security checks: %w", err)
	}
	result := policy.AggregateCheckResults(e.EvaluatePod(p.Enforce, meta, spec))
	if result.Allowed {
		return "", nil
	}
	msg := fmt.Sprintf("namespace %q enforces Pod Security %q (label %s), which would refuse the Job's pod: %s",
		namespace, level, EnforceLabel, result.ForbiddenDetail())
	if root := rootContainers(spec); len(root) > 0 {
		noun, verb := "container", "runs"
		if len(root) > 1 {
			noun, verb = "containers", "run"
		}
		return msg + fmt.Sprintf("; %s %s %s as root, which the PVC and workload restore steps do to restore the files' owners: "+
			"label the namespace %s=baseline for restores, or set the invoker's runtimeSettings.container.securityContext "+
			"to run as a user (runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities.drop: [ALL], seccompProfile.type: RuntimeDefault), "+
			"and the files are restored owned by that user", noun, quoteJoin(root), verb, EnforceLabel), nil
	}
	return msg + "; change what the pod asks for (runtimeSettings.container.securityContext or runtimeSettings.pod of the Function or the invoker, " +
		"the volumes of the Repository's backend or the Task) or label the namespace with a level that allows it", nil
}

// rootContainers are the containers that ask to run as user 0.
func rootContainers(spec *corev1.PodSpec) []string {
	podRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsUser != nil && *spec.SecurityContext.RunAsUser == 0
	var names []string
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range list {
			sc := c.SecurityContext
			if (sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0) || (podRoot && (sc == nil || sc.RunAsUser == nil)) {
				names = append(names, c.Name)
			}
		}
	}
	return names
}

func quoteJoin(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted, ", ")
}
