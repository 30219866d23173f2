package resolve

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/podsecurity"
)

// Names of what the resolver adds to every Job, reserved as in Stash.
const (
	TmpDirVolume       = "tmp-dir"
	LocalBackendVolume = "stash-local"
	InterimVolume      = "stash-interim-volume"
	tmpDirMountPath    = "/tmp"
)

// stepContainer builds the container of step index from a resolved Function.
func stepContainer(function string, index int, spec *stashv1beta1.FunctionSpec, opts Options) corev1.Container {
	c := corev1.Container{
		Name:                     naming.Join(naming.DNSLabel(function), fmt.Sprint(index)),
		Image:                    spec.Image,
		Command:                  spec.Command,
		Args:                     spec.Args,
		WorkingDir:               spec.WorkingDir,
		Ports:                    spec.Ports,
		VolumeMounts:             spec.VolumeMounts,
		VolumeDevices:            spec.VolumeDevices,
		ImagePullPolicy:          opts.ImagePullPolicy,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	// Only the stash image is known to run as a user and without
	// privileges; another image's needs are its Function's to state.
	if spec.Image == opts.Image {
		c.SecurityContext = podsecurity.RestrictedContainer()
	}
	applyContainerSettings(&c, spec.RuntimeSettings)
	return c
}

func buildJob(inv *invoker, task *stashv1beta1.TaskSpec, steps []step, repo *stashv1alpha1.Repository, builtins vars, opts Options) (*batchv1.Job, error) {
	deadline, err := parseTimeout(inv.timeOut)
	if err != nil {
		return nil, Errors{&FieldError{Object: inv.object(), Step: -1, Field: "spec.timeOut", Err: err}}
	}

	volumes := append([]corev1.Volume(nil), task.Volumes...)
	volumes = upsertVolume(volumes, corev1.Volume{Name: TmpDirVolume, VolumeSource: corev1.VolumeSource{
		EmptyDir: &corev1.EmptyDirVolumeSource{Medium: inv.tempDir.Medium, SizeLimit: inv.tempDir.SizeLimit}}})
	shared := []corev1.VolumeMount{{Name: TmpDirVolume, MountPath: tmpDirMountPath}}
	if local := repo.Spec.Backend.Local; local != nil {
		volumes = upsertVolume(volumes, corev1.Volume{Name: LocalBackendVolume, VolumeSource: *local.VolumeSource.DeepCopy()})
		shared = append(shared, corev1.VolumeMount{Name: LocalBackendVolume, MountPath: local.MountPath, SubPath: local.SubPath})
	}
	if tmpl := inv.interimVolume; tmpl != nil {
		volumes = upsertVolume(volumes, corev1.Volume{Name: InterimVolume, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: naming.InterimClaimName(tmpl.Name, inv.jobName())}}})
		shared = append(shared, corev1.VolumeMount{Name: InterimVolume, MountPath: interimMountPath})
	}

	containers := make([]corev1.Container, 0, len(steps)+2)
	for _, s := range steps {
		c := s.container
		for _, m := range shared {
			c.VolumeMounts = upsertMount(c.VolumeMounts, m)
		}
		applyContainerSettings(&c, inv.runtimeSettings.Container)
		containers = append(containers, c)
	}
	if errs := checkMounts(inv.taskRef.Name, steps, containers, volumes); len(errs) > 0 {
		return nil, errs
	}

	// Hooks as Stash places them: the pre hook runs first, the post hook
	// right before the last step (which reports the status).
	outputDir := outputDirOf(task)
	if len(inv.preHooks) > 0 {
		hook, err := hookContainer(naming.PreTaskHookContainer, inv.preHookType, inv.preHooks, inv, containers, builtins, outputDir, opts)
		if err != nil {
			return nil, err
		}
		containers = append([]corev1.Container{hook}, containers...)
	}
	if len(inv.postHooks) > 0 {
		last := len(containers) - 1
		hook, err := hookContainer(naming.PostTaskHookContainer, inv.postHookType, inv.postHooks, inv, containers, builtins, outputDir, opts)
		if err != nil {
			return nil, err
		}
		containers = append(containers[:last], hook, containers[last])
	}

	pod := corev1.PodSpec{
		ServiceAccountName: inv.sessionKind.ServiceAccountName(inv.name),
		RestartPolicy:      corev1.RestartPolicyNever,
		Volumes:            volumes,
		InitContainers:     containers[:len(containers)-1],
		Containers:         containers[len(containers)-1:],
	}
	if len(pod.InitContainers) == 0 {
		pod.InitContainers = nil
	}
	if errs := mountTargetVolumes(inv, &pod); len(errs) > 0 {
		return nil, errs
	}
	placeOnNode(&pod, inv.host.Node)
	podOrdinalEnv(&pod, inv.host.Ordinal)
	applyPodSettings(&pod, inv.runtimeSettings.Pod)

	labels := inv.sessionKind.Labels(inv.kind, inv.name, inv.labels)
	labels[naming.HostLabel] = naming.Join(inv.host.Name)
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      inv.jobName(),
			Namespace: inv.namespace,
			Labels:    labels,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: stashv1beta1.GroupVersion.String(), Kind: inv.sessionKind.Kind,
				Name: inv.session.GetName(), UID: inv.session.GetUID(),
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: batchv1.JobSpec{
			// One attempt: a retried pod would run the backup and the
			// retention twice; the session reports the failure instead.
			BackoffLimit:          ptr.To[int32](0),
			ActiveDeadlineSeconds: deadline,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels)},
				Spec:       pod,
			},
		},
	}, nil
}

// interimClaim is the claim of the invoker's interimVolumeTemplate that the
// Job mounts, labelled as the Job and owned by the session (nil: no
// template). The operator creates it with the Job and deletes it when the
// session ends.
func interimClaim(inv *invoker, job *batchv1.Job) *corev1.PersistentVolumeClaim {
	tmpl := inv.interimVolume
	if tmpl == nil {
		return nil
	}
	labels := maps.Clone(job.Labels)
	maps.Copy(labels, tmpl.Labels)
	return &corev1.PersistentVolumeClaim{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{
			Name: naming.InterimClaimName(tmpl.Name, job.Name), Namespace: job.Namespace,
			Labels: labels, Annotations: maps.Clone(tmpl.Annotations),
			OwnerReferences: slices.Clone(job.OwnerReferences),
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
}

// checkMounts reports every step mount that names no volume of the Job.
func checkMounts(task string, steps []step, containers []corev1.Container, volumes []corev1.Volume) Errors {
	known := make([]string, 0, len(volumes))
	for _, v := range volumes {
		known = append(known, v.Name)
	}
	var errs Errors
	for i, s := range steps {
		for j, m := range containers[i].VolumeMounts {
			if contains(known, m.Name) {
				continue
			}
			errs = append(errs, &FieldError{
				Object: fmt.Sprintf("task %q", task), Step: s.index, Function: s.function,
				Field: fmt.Sprintf("spec.volumeMounts[%d].name", j),
				Err: fmt.Errorf("volume %q is not a volume of the Job (it has %s): add it to the Task's spec.volumes or fix the name",
					m.Name, strings.Join(known, ", ")),
				Suggestion: quoted(closest(m.Name, known)),
			})
		}
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// hookContainer runs `stash run-hook` with one phase's hooks (resolved),
// in order. It mounts every volume the steps mount, so a hook sees what
// they see, and the post hook finds the data step's output.json.
func hookContainer(name, hookType string, hooks []hook, inv *invoker, steps []corev1.Container, builtins vars, outputDir string, opts Options) (corev1.Container, error) {
	var mounts []corev1.VolumeMount
	for _, c := range steps {
		for _, m := range c.VolumeMounts {
			mounts = upsertMount(mounts, m)
		}
	}
	sort.SliceStable(mounts, func(i, j int) bool { return mounts[i].MountPath < mounts[j].MountPath })
	handlers := make([]stashv1beta1.Handler, len(hooks))
	for i, h := range hooks {
		handlers[i] = h.handler
	}
	js, err := json.Marshal(handlers)
	if err != nil {
		return corev1.Container{}, fmt.Errorf("encode the %s hooks: %w", hookType, err)
	}
	args := []string{
		"run-hook",
		"--hook-type=" + hookType,
		"--hooks=" + string(js),
		"--namespace=" + inv.namespace,
		"--pod=" + inv.host.Pod,
		"--output-dir=" + outputDir,
		"--invoker-kind=" + inv.kind,
		"--invoker-name=" + inv.name,
		"--hostname=" + builtins[VarHostname],
		"--target-kind=" + builtins[VarTargetKind],
		"--target-name=" + builtins[VarTargetName],
	}
	if inv.restores() {
		args = append(args, "--restoresession="+inv.session.GetName())
	} else {
		args = append(args, "--backupsession="+inv.session.GetName())
	}
	c := corev1.Container{
		Name:            name,
		Image:           opts.Image,
		Args:            args,
		ImagePullPolicy: opts.ImagePullPolicy,
		Env: []corev1.EnvVar{
			{Name: VarHookType, Value: hookType},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		},
		VolumeMounts:             mounts,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		SecurityContext:          podsecurity.RestrictedContainer(),
	}
	applyContainerSettings(&c, inv.runtimeSettings.Container)
	return c, nil
}

// outputDirOf is where the Task's last step (update-status) reads the data
// step's output.json: its outputDir param.
func outputDirOf(task *stashv1beta1.TaskSpec) string {
	if len(task.Steps) == 0 {
		return ""
	}
	for _, p := range task.Steps[len(task.Steps)-1].Params {
		if p.Name == "outputDir" {
			return p.Value
		}
	}
	return ""
}

// upsertVolume replaces the volume of the same name, or appends it.
func upsertVolume(volumes []corev1.Volume, v corev1.Volume) []corev1.Volume {
	for i := range volumes {
		if volumes[i].Name == v.Name {
			volumes[i] = v
			return volumes
		}
	}
	return append(volumes, v)
}

// upsertMount replaces the mount at the same path, or appends it.
func upsertMount(mounts []corev1.VolumeMount, m corev1.VolumeMount) []corev1.VolumeMount {
	for i := range mounts {
		if mounts[i].MountPath == m.MountPath {
			mounts[i] = m
			return mounts
		}
	}
	return append(mounts, m)
}
