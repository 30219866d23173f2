// Package manifest reads Kubernetes manifests (YAML or JSON, one or many
// documents) into the typed objects of our API groups, strictly: an unknown or
// duplicate field is an error, so that a typo never silently disappears.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	appcatalogv1alpha1 "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	repositoriesv1alpha1 "github.com/stash-operator/stash/api/repositories/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// AddToScheme registers every kind of our API groups.
func AddToScheme(s *runtime.Scheme) error {
	for _, add := range []func(*runtime.Scheme) error{
		stashv1beta1.AddToScheme, stashv1alpha1.AddToScheme, appcatalogv1alpha1.AddToScheme, repositoriesv1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return err
		}
	}
	return nil
}

// Scheme knows our kinds only.
var Scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(AddToScheme(s))
	return s
}()

// ErrUnknownKind is returned by Decode for a kind that is not one of ours.
var ErrUnknownKind = errors.New("not a kind of stash.appscode.com or appcatalog.appscode.com")

// Document is one document of a stream: its bytes as JSON and where it was.
type Document struct {
	Index int // 0-based position in the stream
	JSON  []byte
}

// Split reads every non-empty YAML or JSON document of r, as JSON.
func Split(r io.Reader) ([]Document, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs []Document
	for i := 0; ; i++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSONStrict(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue // a document of comments only
		}
		docs = append(docs, Document{Index: i, JSON: js})
	}
}

// GVK reads apiVersion and kind of a JSON document.
func GVK(js []byte) (schema.GroupVersionKind, error) {
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return schema.GroupVersionKind{}, err
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return schema.GroupVersionKind{}, errors.New("apiVersion and kind must be set")
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	return gv.WithKind(tm.Kind), nil
}

// Decode turns one JSON document into a typed object of our groups, strictly.
// A kind that is not ours returns an error wrapping ErrUnknownKind.
func Decode(js []byte) (runtime.Object, error) {
	gvk, err := GVK(js)
	if err != nil {
		return nil, err
	}
	obj, err := Scheme.New(gvk)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", gvk.GroupKind(), ErrUnknownKind)
	}
	return decodeInto(js, gvk, obj)
}

// decodeInto unmarshals js into obj of kind gvk, strictly.
func decodeInto(js []byte, gvk schema.GroupVersionKind, obj runtime.Object) (runtime.Object, error) {
	strictErrs, err := sigsjson.UnmarshalStrict(js, obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", gvk.Kind, err)
	}
	if len(strictErrs) > 0 {
		return nil, fmt.Errorf("%s: %w", gvk.Kind, errors.Join(strictErrs...))
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

// builtinKinds are the built-in kinds a manifest of a target may hold, by
// group and kind: the workloads (in any of the groups v0.9 manifests spell
// them with: apps/v1 serves them all), their pods and claims.
var builtinKinds = map[schema.GroupKind]func() runtime.Object{
	{Group: "apps", Kind: "Deployment"}:        func() runtime.Object { return &appsv1.Deployment{} },
	{Group: "extensions", Kind: "Deployment"}:  func() runtime.Object { return &appsv1.Deployment{} },
	{Group: "apps", Kind: "StatefulSet"}:       func() runtime.Object { return &appsv1.StatefulSet{} },
	{Group: "apps", Kind: "DaemonSet"}:         func() runtime.Object { return &appsv1.DaemonSet{} },
	{Group: "extensions", Kind: "DaemonSet"}:   func() runtime.Object { return &appsv1.DaemonSet{} },
	{Group: "apps", Kind: "ReplicaSet"}:        func() runtime.Object { return &appsv1.ReplicaSet{} },
	{Group: "extensions", Kind: "ReplicaSet"}:  func() runtime.Object { return &appsv1.ReplicaSet{} },
	{Group: "", Kind: "ReplicationController"}: func() runtime.Object { return &corev1.ReplicationController{} },
	{Group: "", Kind: "Pod"}:                   func() runtime.Object { return &corev1.Pod{} },
	{Group: "", Kind: "PersistentVolumeClaim"}: func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
}

// DecodeBuiltin turns one JSON document of a workload, pod or claim into its
// typed object, strictly; another kind returns an error wrapping
// ErrUnknownKind.
func DecodeBuiltin(js []byte) (runtime.Object, error) {
	gvk, err := GVK(js)
	if err != nil {
		return nil, err
	}
	newObj, ok := builtinKinds[gvk.GroupKind()]
	if !ok {
		return nil, fmt.Errorf("%s: %w", gvk.GroupKind(), ErrUnknownKind)
	}
	return decodeInto(js, gvk, newObj())
}
