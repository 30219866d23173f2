package resolve

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	appcatalogv1alpha1 "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/backend"
	"github.com/stash-operator/stash/internal/maintenance"
)

// The built-in variables, computed from the objects. docs/variables.md lists
// exactly these names (a test checks it).
const (
	VarNamespace            = "NAMESPACE"
	VarBackupSession        = "BACKUP_SESSION"
	VarRestoreSession       = "RESTORE_SESSION"
	VarInvokerKind          = "INVOKER_KIND"
	VarInvokerName          = "INVOKER_NAME"
	VarRepositoryName       = "REPOSITORY_NAME"
	VarRepositoryNamespace  = "REPOSITORY_NAMESPACE"
	VarRepositoryProvider   = "REPOSITORY_PROVIDER"
	VarRepositoryBucket     = "REPOSITORY_BUCKET"
	VarRepositoryPrefix     = "REPOSITORY_PREFIX"
	VarRepositoryEndpoint   = "REPOSITORY_ENDPOINT"
	VarRepositoryRegion     = "REPOSITORY_REGION"
	VarRepositoryURL        = "REPOSITORY_URL"
	VarRepositorySecretName = "REPOSITORY_SECRET_NAME"
	VarMaxConnections       = "MAX_CONNECTIONS"
	VarHostname             = "HOSTNAME"
	VarSourceHostname       = "SOURCE_HOSTNAME"
	VarTargetName           = "TARGET_NAME"
	VarTargetKind           = "TARGET_KIND"
	VarTargetAPIVersion     = "TARGET_API_VERSION"
	VarTargetNamespace      = "TARGET_NAMESPACE"
	VarTargetPaths          = "TARGET_PATHS"
	VarTargetMountPath      = "TARGET_MOUNT_PATH"
	VarTargetResource       = "TARGET_RESOURCE"
	VarTargetAppReplicas    = "TARGET_APP_REPLICAS"
	VarTargetAppType        = "TARGET_APP_TYPE"
	VarTargetAppVersion     = "TARGET_APP_VERSION"
	VarTargetAppGroup       = "TARGET_APP_GROUP"
	VarTargetAppResource    = "TARGET_APP_RESOURCE"
	VarRestorePaths         = "RESTORE_PATHS"
	VarRestoreSnapshots     = "RESTORE_SNAPSHOTS"
	VarRetentionKeepLast    = "RETENTION_KEEP_LAST"
	VarRetentionKeepHourly  = "RETENTION_KEEP_HOURLY"
	VarRetentionKeepDaily   = "RETENTION_KEEP_DAILY"
	VarRetentionKeepWeekly  = "RETENTION_KEEP_WEEKLY"
	VarRetentionKeepMonthly = "RETENTION_KEEP_MONTHLY"
	VarRetentionKeepYearly  = "RETENTION_KEEP_YEARLY"
	VarRetentionKeepTags    = "RETENTION_KEEP_TAGS"
	VarRetentionPrune       = "RETENTION_PRUNE"
	VarRepositoryCheck      = "REPOSITORY_CHECK"
	VarRepositoryMeasure    = "REPOSITORY_MEASURE"
	VarRetentionDryRun      = "RETENTION_DRY_RUN"
	VarEnableCache          = "ENABLE_CACHE"
	VarInterimDataDir       = "INTERIM_DATA_DIR"
	VarPushgatewayURL       = "PROMETHEUS_PUSHGATEWAY_URL"
	VarPrometheusJobName    = "PROMETHEUS_JOB_NAME"
	VarDockerRegistry       = "STASH_DOCKER_REGISTRY"
	VarDockerImage          = "STASH_DOCKER_IMAGE"
	VarImageTag             = "STASH_IMAGE_TAG"
	VarHookType             = "HOOK_TYPE"
	VarPodOrdinal           = "POD_ORDINAL"
)

// BuiltinNames are all built-in variables, in documentation order.
var BuiltinNames = []string{
	VarNamespace, VarBackupSession, VarRestoreSession, VarInvokerKind, VarInvokerName,
	VarRepositoryName, VarRepositoryNamespace, VarRepositoryProvider, VarRepositoryBucket, VarRepositoryPrefix,
	VarRepositoryEndpoint, VarRepositoryRegion, VarRepositoryURL, VarRepositorySecretName, VarMaxConnections,
	VarHostname, VarSourceHostname,
	VarTargetName, VarTargetKind, VarTargetAPIVersion, VarTargetNamespace, VarTargetResource, VarTargetPaths, VarTargetMountPath,
	VarTargetAppReplicas, VarTargetAppType, VarTargetAppVersion, VarTargetAppGroup, VarTargetAppResource,
	VarRestorePaths, VarRestoreSnapshots,
	VarRetentionKeepLast, VarRetentionKeepHourly, VarRetentionKeepDaily, VarRetentionKeepWeekly,
	VarRetentionKeepMonthly, VarRetentionKeepYearly, VarRetentionKeepTags, VarRetentionPrune, VarRetentionDryRun,
	VarRepositoryCheck, VarRepositoryMeasure,
	VarEnableCache, VarInterimDataDir, VarPushgatewayURL, VarPrometheusJobName,
	VarDockerRegistry, VarDockerImage, VarImageTag, VarHookType, VarPodOrdinal,
}

var builtinSet = func() map[string]bool {
	m := make(map[string]bool, len(BuiltinNames))
	for _, n := range BuiltinNames {
		m[n] = true
	}
	return m
}()

// whyUnset explains built-ins that are set only in some cases, for the
// message of an unresolved variable.
var whyUnset = map[string]string{
	VarRepositorySecretName: "the Repository sets no spec.backend.storageSecretName",
	VarRepositoryEndpoint:   "it is set only for s3 and rest backends; use ${REPOSITORY_ENDPOINT:=}",
	VarRepositoryRegion:     "it is set only for the s3 backend; use ${REPOSITORY_REGION:=}",
	VarBackupSession:        "it is set only for backups; use ${BACKUP_SESSION:=}",
	VarRestoreSession:       "it is set only for restores; use ${RESTORE_SESSION:=}",
	VarRestorePaths:         "it is set only for restores",
	VarRestoreSnapshots:     "it is set only for restores",
	VarSourceHostname:       "it is set only for restores",
	VarTargetAppReplicas:    "it is set only for restores",
	VarTargetPaths:          "restores set it only when spec.target.volumeMounts are given",
	VarTargetName:           "the invoker names no target (spec.target.ref)",
	VarTargetKind:           "the invoker names no target (spec.target.ref)",
	VarTargetAPIVersion:     "the invoker names no target (spec.target.ref)",
	VarTargetResource:       "the invoker names no target (spec.target.ref)",
	VarTargetAppType:        "it is set only for an AppBinding target, from its spec.type; use ${TARGET_APP_TYPE:=}",
	VarTargetAppVersion:     "it is set only for an AppBinding target that sets spec.version; use ${TARGET_APP_VERSION:=}",
	VarTargetAppGroup:       "it is set only for an AppBinding target whose spec.type has a group (kubedb.com/postgres); use ${TARGET_APP_GROUP:=}",
	VarTargetAppResource:    "it is set only for an AppBinding target, from its spec.type; use ${TARGET_APP_RESOURCE:=}",
	VarRetentionKeepLast:    "the retention policy does not set keepLast; use ${RETENTION_KEEP_LAST:=0}",
	VarRetentionKeepHourly:  "the retention policy does not set keepHourly; use ${RETENTION_KEEP_HOURLY:=0}",
	VarRetentionKeepDaily:   "the retention policy does not set keepDaily; use ${RETENTION_KEEP_DAILY:=0}",
	VarRetentionKeepWeekly:  "the retention policy does not set keepWeekly; use ${RETENTION_KEEP_WEEKLY:=0}",
	VarRetentionKeepMonthly: "the retention policy does not set keepMonthly; use ${RETENTION_KEEP_MONTHLY:=0}",
	VarRetentionKeepYearly:  "the retention policy does not set keepYearly; use ${RETENTION_KEEP_YEARLY:=0}",
	VarRetentionKeepTags:    "the retention policy sets no keepTags; use ${RETENTION_KEEP_TAGS:=}",
	VarRetentionPrune:       "it is set only when the retention policy prunes and a prune is due (spec.maintenance of the Repository); use ${RETENTION_PRUNE:=false}",
	VarRepositoryCheck:      "it is set only for backups; use ${REPOSITORY_CHECK:=true}",
	VarRepositoryMeasure:    "it is set only for backups; use ${REPOSITORY_MEASURE:=true}",
	VarRetentionDryRun:      "it is set only for a dry-run retention policy; use ${RETENTION_DRY_RUN:=false}",
	VarHookType:             "it is set only in hook containers",
	VarPodOrdinal:           "it is set only for a StatefulSet's replicas and restores into volumeClaimTemplates",
}

// The paths every step shares.
const (
	defaultTargetPath = "/stash-data"
	interimMountPath  = "/stash-interim-volume"
)

// Backend is the provider-independent view of a Repository's backend.
type Backend struct {
	Provider       string // local, s3, gcs, azure, swift, b2, rest
	Bucket         string // bucket or container; local: the mount path; rest: the URL's host
	Prefix         string // path inside the bucket; rest: the URL's path
	Endpoint       string // s3 endpoint or rest URL
	Region         string // s3 only
	MaxConnections int64  // gcs, azure, b2
}

// BackendOf reads the one provider of a Repository's backend.
func BackendOf(b stashv1alpha1.Backend) (Backend, error) {
	switch {
	case b.Local != nil:
		return Backend{Provider: "local", Bucket: b.Local.MountPath}, nil
	case b.S3 != nil:
		return Backend{Provider: "s3", Bucket: b.S3.Bucket, Prefix: b.S3.Prefix, Endpoint: b.S3.Endpoint, Region: b.S3.Region}, nil
	case b.GCS != nil:
		return Backend{Provider: "gcs", Bucket: b.GCS.Bucket, Prefix: b.GCS.Prefix, MaxConnections: b.GCS.MaxConnections}, nil
	case b.Azure != nil:
		return Backend{Provider: "azure", Bucket: b.Azure.Container, Prefix: b.Azure.Prefix, MaxConnections: b.Azure.MaxConnections}, nil
	case b.Swift != nil:
		return Backend{Provider: "swift", Bucket: b.Swift.Container, Prefix: b.Swift.Prefix}, nil
	case b.B2 != nil:
		return Backend{Provider: "b2", Bucket: b.B2.Bucket, Prefix: b.B2.Prefix, MaxConnections: b.B2.MaxConnections}, nil
	case b.Rest != nil:
		u, err := url.Parse(b.Rest.URL)
		if err != nil || u.Host == "" {
			return Backend{}, fmt.Errorf("rest.url %s is not a URL such as http://rest-server:8000/repo", backend.RedactURL(b.Rest.URL))
		}
		// Every Job made from the backend (sessions, wipe-outs) would carry
		// the URL in its arguments, readable by anyone who may read Jobs.
		if u.User != nil {
			return Backend{}, fmt.Errorf("rest.url %s contains credentials: remove them from the URL and put them in the storage Secret as %s and %s",
				backend.RedactURL(b.Rest.URL), backend.KeyRestServerUsername, backend.KeyRestServerPassword)
		}
		return Backend{Provider: "rest", Bucket: u.Host, Prefix: u.Path, Endpoint: b.Rest.URL}, nil
	}
	return Backend{}, fmt.Errorf("names no provider: set one of local, s3, gcs, azure, swift, b2 or rest")
}

// ResticRepository is the repository string restic is given for b: the
// data plane computes it from the same fields, so REPOSITORY_URL is what the
// Functions will open.
func (b Backend) ResticRepository() (string, error) {
	return backend.Backend{Provider: b.Provider, Bucket: b.Bucket, Endpoint: b.Endpoint, Region: b.Region, Prefix: b.Prefix}.Repository()
}

// vars is one scope of variables.
type vars map[string]string

func (v vars) setIf(cond bool, name, value string) {
	if cond {
		v[name] = value
	}
}

// repositoryVars are the REPOSITORY_* variables and MAX_CONNECTIONS.
func repositoryVars(v vars, repo *stashv1alpha1.Repository) error {
	b, err := BackendOf(repo.Spec.Backend)
	if err != nil {
		return err
	}
	v[VarRepositoryName] = repo.Name
	v[VarRepositoryNamespace] = repo.Namespace
	v[VarRepositoryProvider] = b.Provider
	v[VarRepositoryBucket] = b.Bucket
	v[VarRepositoryPrefix] = b.Prefix
	repoURL, err := b.ResticRepository()
	if err != nil {
		return err
	}
	v[VarRepositoryURL] = repoURL
	v[VarMaxConnections] = strconv.FormatInt(b.MaxConnections, 10)
	v.setIf(b.Provider == "s3" || b.Provider == "rest", VarRepositoryEndpoint, b.Endpoint)
	v.setIf(b.Provider == "s3", VarRepositoryRegion, b.Region)
	v.setIf(repo.Spec.Backend.StorageSecretName != "", VarRepositorySecretName, repo.Spec.Backend.StorageSecretName)
	return nil
}

// commonVars are the variables of backups and restores alike.
func commonVars(v vars, namespace, invokerKind, invokerName string, host Host, tempDir stashv1beta1.EmptyDirSettings, interim *stashv1beta1.PersistentVolumeClaim, opts Options) {
	v[VarNamespace] = namespace
	v[VarInvokerKind] = invokerKind
	v[VarInvokerName] = invokerName
	v[VarPrometheusJobName] = invokerName
	v[VarHostname] = host.Name
	v.setIf(host.Ordinal >= 0, VarPodOrdinal, strconv.Itoa(host.Ordinal))
	v[VarEnableCache] = strconv.FormatBool(!tempDir.DisableCaching)
	if interim != nil {
		v[VarInterimDataDir] = interimMountPath + "/data"
	} else {
		v[VarInterimDataDir] = "/tmp" + interimMountPath + "/data"
	}
	v[VarPushgatewayURL] = opts.PushgatewayURL
	registry, image, tag := splitImage(opts.Image)
	v[VarDockerRegistry] = registry
	v[VarDockerImage] = image
	v[VarImageTag] = tag
}

func targetRefVars(v vars, ref stashv1beta1.TargetRef, namespace string, app *App) {
	v.setIf(ref.Name != "", VarTargetName, ref.Name)
	v.setIf(ref.Kind != "", VarTargetKind, ref.Kind)
	v.setIf(ref.Kind != "", VarTargetResource, resourceOf(ref.Kind))
	v.setIf(ref.APIVersion != "", VarTargetAPIVersion, ref.APIVersion)
	v[VarTargetNamespace] = namespace
	if app != nil {
		group, resource := app.groupResource()
		v.setIf(app.Type != "", VarTargetAppType, app.Type)
		v.setIf(app.Version != "", VarTargetAppVersion, app.Version)
		v.setIf(group != "", VarTargetAppGroup, group)
		v.setIf(resource != "", VarTargetAppResource, resource)
	}
}

// App is what TARGET_APP_* say of an AppBinding target: its spec.type and
// spec.version.
type App struct {
	Type, Version string
}

// AppOf is the App of an AppBinding.
func AppOf(ab *appcatalogv1alpha1.AppBinding) *App {
	return &App{Type: ab.Spec.Type, Version: ab.Spec.Version}
}

// groupResource splits the type as Stash did: "kubedb.com/postgres" is
// group kubedb.com, resource postgres; "postgres" is resource postgres.
func (a App) groupResource() (group, resource string) {
	if g, r, ok := strings.Cut(a.Type, "/"); ok {
		return g, r
	}
	return "", a.Type
}

// targetResources are the resources of the kinds a target names, as the
// API serves them (Stash asked discovery; these are all a target can be).
var targetResources = map[string]string{
	"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets",
	"ReplicaSet": "replicasets", "ReplicationController": "replicationcontrollers",
	"DeploymentConfig": "deploymentconfigs", "PersistentVolumeClaim": "persistentvolumeclaims",
	"AppBinding": "appbindings",
}

// resourceOf is TARGET_RESOURCE of a kind: its resource, or for a kind
// that is none of a target's, its lower-cased plural.
func resourceOf(kind string) string {
	if r, ok := targetResources[kind]; ok {
		return r
	}
	return strings.ToLower(kind) + "s"
}

func mountPathOf(mounts []corev1.VolumeMount) string {
	if len(mounts) > 0 && mounts[0].MountPath != "" {
		return mounts[0].MountPath
	}
	return defaultTargetPath
}

// maintenanceVars say what a backup starting at now does besides backing
// up (package maintenance): a retention policy's prune only when it is
// due. A session with no creation time yet (a dry run) does everything, as
// Stash v0.9 did.
func maintenanceVars(v vars, repo *stashv1alpha1.Repository, p stashv1alpha1.RetentionPolicy, now time.Time) {
	plan := maintenance.Plan{Check: true, Prune: p.Prune}
	if !now.IsZero() {
		plan = maintenance.Due(repo.Spec.Maintenance, repo.Status, p.Prune, now)
	}
	if !plan.Prune {
		delete(v, VarRetentionPrune)
	}
	v[VarRepositoryCheck] = strconv.FormatBool(plan.Check)
	v[VarRepositoryMeasure] = strconv.FormatBool(plan.Measure(repo.Status))
}

func retentionVars(v vars, p stashv1alpha1.RetentionPolicy) {
	for _, keep := range []struct {
		name  string
		count int64
	}{
		{VarRetentionKeepLast, p.KeepLast}, {VarRetentionKeepHourly, p.KeepHourly}, {VarRetentionKeepDaily, p.KeepDaily},
		{VarRetentionKeepWeekly, p.KeepWeekly}, {VarRetentionKeepMonthly, p.KeepMonthly}, {VarRetentionKeepYearly, p.KeepYearly},
	} {
		v.setIf(keep.count > 0, keep.name, strconv.FormatInt(keep.count, 10))
	}
	v.setIf(len(p.KeepTags) > 0, VarRetentionKeepTags, strings.Join(p.KeepTags, ","))
	v.setIf(p.Prune, VarRetentionPrune, "true")
	v.setIf(p.DryRun, VarRetentionDryRun, "true")
}

// backupVars are the built-ins of a backup Job.
func backupVars(bc *stashv1beta1.BackupConfiguration, bs *stashv1beta1.BackupSession, repo *stashv1alpha1.Repository, host Host, opts Options) (vars, error) {
	v := make(vars, 48)
	if err := repositoryVars(v, repo); err != nil {
		return nil, err
	}
	commonVars(v, bs.Namespace, "BackupConfiguration", bc.Name, host, bc.Spec.TempDir, bc.Spec.InterimVolumeTemplate, opts)
	v[VarBackupSession] = bs.Name
	paths, mounts := []string(nil), []corev1.VolumeMount(nil)
	if t := bc.Spec.Target; t != nil {
		targetRefVars(v, t.Ref, bc.Namespace, host.App)
		paths, mounts = t.Paths, t.VolumeMounts
	}
	if len(paths) == 0 {
		paths = []string{defaultTargetPath}
	}
	v[VarTargetPaths] = strings.Join(paths, ",")
	v[VarTargetMountPath] = mountPathOf(mounts)
	retentionVars(v, bc.Spec.RetentionPolicy)
	maintenanceVars(v, repo, bc.Spec.RetentionPolicy, bs.CreationTimestamp.Time)
	return v, nil
}

// restoreVars are the built-ins of a restore Job of host. Deliberate
// difference from Stash: HOSTNAME is always the host's (Stash left it empty
// when no rule matched, so the restore's own report had no host), and
// SOURCE_HOSTNAME defaults to it.
func restoreVars(rs *stashv1beta1.RestoreSession, repo *stashv1alpha1.Repository, host Host, opts Options) (vars, error) {
	v := make(vars, 40)
	if err := repositoryVars(v, repo); err != nil {
		return nil, err
	}
	commonVars(v, rs.Namespace, "RestoreSession", rs.Name, host, rs.Spec.TempDir, rs.Spec.InterimVolumeTemplate, opts)
	v[VarRestoreSession] = rs.Name
	replicas := int32(1)
	var mounts []corev1.VolumeMount
	if t := rs.Spec.Target; t != nil {
		targetRefVars(v, t.Ref, rs.Namespace, host.App)
		if t.Ref.Name == "" && len(t.VolumeClaimTemplates) > 0 {
			v[VarTargetName] = t.VolumeClaimTemplates[0].Name
		}
		if t.Replicas != nil {
			replicas = *t.Replicas
		}
		mounts = t.VolumeMounts
	} else {
		v[VarTargetNamespace] = rs.Namespace
	}
	v[VarTargetAppReplicas] = strconv.Itoa(int(replicas))
	v[VarTargetMountPath] = mountPathOf(mounts)
	// What a rule without paths or snapshots restores: every mounted path.
	var paths []string
	for _, m := range mounts {
		paths = append(paths, m.MountPath)
	}
	v.setIf(len(paths) > 0, VarTargetPaths, strings.Join(paths, ","))

	rule := RuleFor(host.Name, rs.Spec.Rules)
	v[VarSourceHostname] = host.Name
	v[VarRestorePaths], v[VarRestoreSnapshots] = "", ""
	if rule != nil {
		if rule.SourceHost != "" {
			v[VarSourceHostname] = rule.SourceHost
		}
		v[VarRestorePaths] = strings.Join(rule.Paths, ",")
		v[VarRestoreSnapshots] = strings.Join(rule.Snapshots, ",")
	}
	return v, nil
}

// RuleFor picks the rule of host: the one naming it, else the catch-all; nil
// when none applies.
func RuleFor(host string, rules []stashv1beta1.Rule) *stashv1beta1.Rule {
	var catchAll *stashv1beta1.Rule
	for i := range rules {
		r := &rules[i]
		if len(r.TargetHosts) == 0 {
			if catchAll == nil {
				catchAll = r
			}
			continue
		}
		for _, h := range r.TargetHosts {
			if h == host {
				return r
			}
		}
	}
	return catchAll
}

// splitImage splits registry/path/name:tag into its registry (everything
// before the last path element), name and tag.
func splitImage(image string) (registry, name, tag string) {
	rest := image
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		registry, rest = rest[:i], rest[i+1:]
	}
	name, tag, _ = strings.Cut(rest, ":")
	if at := strings.IndexByte(tag, '@'); at >= 0 {
		tag = tag[:at]
	}
	return registry, name, tag
}
