// Package defaultcatalog loads the default Functions and Tasks that ship
// with the operator (config/catalog): PVC and workload backup and restore,
// PostgreSQL, MySQL/MariaDB and Redis backup and restore under every name
// of Versions, and update-status.
package defaultcatalog

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/config/catalog"
	"github.com/stash-operator/stash/internal/manifest"
)

// Versions are the names each database engine's Functions and Tasks are
// installed under, as <engine>-backup-<version> and <engine>-restore-<version>:
// config/catalog defines each once, without a version. The version is the
// server's. Ours come first, one per server major version the stash
// image's client dumps and restores; then the names the addon charts of
// Stash v0.9 installed (stashed/catalog, February 2020), which a v0.9
// BackupConfiguration names (v0.9 had no Redis addon). Every name of an
// engine runs the same client of the stash image (pg_dumpall 17, which
// dumps servers 9.2 to 17; mariadb-dump 11.8; the stash binary's own for
// Redis).
var Versions = map[string][]string{
	"postgres": {"12", "13", "14", "15", "16", "17", "9.6", "10.2", "10.6", "11.1", "11.2"},
	"mysql":    {"10.5", "10.11", "11.8", "5.7.25", "8.0.3", "8.0.14"},
	"redis":    {"6", "7", "8"},
}

// Load decodes every catalog object strictly, makes the versioned copies of
// the engines' objects (Versions) and sets every Function's image to image
// (e.g. "stash:v0.1.0"). Functions and Tasks are each sorted by name.
func Load(image string) (functions []*v1beta1.Function, tasks []*v1beta1.Task, err error) {
	return load(catalogfiles.FS, image, Versions)
}

// load is Load for any file system and engine versions.
func load(fsys fs.FS, image string, versions map[string][]string) ([]*v1beta1.Function, []*v1beta1.Task, error) {
	if image == "" {
		return nil, nil, errors.New("catalog: the Functions' image must not be empty")
	}
	functions, tasks, err := read(fsys)
	if err != nil {
		return nil, nil, err
	}
	functions, tasks, err = expand(functions, tasks, versions)
	if err != nil {
		return nil, nil, err
	}
	for _, fn := range functions {
		fn.Spec.Image = image
	}
	slices.SortFunc(functions, func(a, b *v1beta1.Function) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(tasks, func(a, b *v1beta1.Task) int { return strings.Compare(a.Name, b.Name) })
	return functions, tasks, nil
}

// expand replaces each engine's Functions and Tasks, <engine>-backup and
// <engine>-restore, by a copy per version named <name>-<version>, whose
// Task steps name the Functions of that version. An engine whose four
// objects are not all defined is an error: a Task must never name a
// Function that is not installed.
func expand(functions []*v1beta1.Function, tasks []*v1beta1.Task, versions map[string][]string) ([]*v1beta1.Function, []*v1beta1.Task, error) {
	versioned := map[string][]string{} // base name -> versions
	for _, engine := range slices.Sorted(maps.Keys(versions)) {
		if len(versions[engine]) == 0 {
			return nil, nil, fmt.Errorf("catalog: engine %s has no version", engine)
		}
		for _, direction := range []string{"backup", "restore"} {
			versioned[engine+"-"+direction] = versions[engine]
		}
	}
	fnCopies, err := expandKind(functions, versioned, "Function", func(fn *v1beta1.Function, version string) *v1beta1.Function {
		c := fn.DeepCopy()
		c.Name = fn.Name + "-" + version
		return c
	})
	if err != nil {
		return nil, nil, err
	}
	taskCopies, err := expandKind(tasks, versioned, "Task", func(task *v1beta1.Task, version string) *v1beta1.Task {
		c := task.DeepCopy()
		c.Name = task.Name + "-" + version
		for i := range c.Spec.Steps {
			if _, ok := versioned[c.Spec.Steps[i].Name]; ok {
				c.Spec.Steps[i].Name += "-" + version
			}
		}
		return c
	})
	if err != nil {
		return nil, nil, err
	}
	return fnCopies, taskCopies, nil
}

// expandKind is expand for one kind: objects not named in versioned are
// kept as they are, each named one is replaced by its copies. A copy may
// not take the name of another object.
func expandKind[T interface{ GetName() string }](objs []T, versioned map[string][]string, kind string, copyAs func(T, string) T) ([]T, error) {
	var out []T
	found := map[string]bool{}
	for _, o := range objs {
		vs, ok := versioned[o.GetName()]
		if !ok {
			out = append(out, o)
			continue
		}
		found[o.GetName()] = true
		for _, v := range vs {
			out = append(out, copyAs(o, v))
		}
	}
	seen := map[string]bool{}
	for _, o := range out {
		if seen[o.GetName()] {
			return nil, fmt.Errorf("catalog: %s %q is defined twice: once with a version of Versions", kind, o.GetName())
		}
		seen[o.GetName()] = true
	}
	for _, name := range slices.Sorted(maps.Keys(versioned)) {
		if !found[name] {
			return nil, fmt.Errorf("catalog: no %s %q: every engine of Versions needs its backup and restore Function and Task", kind, name)
		}
	}
	return out, nil
}

// read decodes every *.yaml file at the root of fsys as written. A document
// that is not a v1beta1 Function or Task, a field the types do not know, a
// missing name or a name used twice within a kind is an error.
func read(fsys fs.FS) ([]*v1beta1.Function, []*v1beta1.Task, error) {
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: %w", err)
	}
	if len(files) == 0 {
		return nil, nil, errors.New("catalog: no *.yaml files")
	}
	var (
		functions []*v1beta1.Function
		tasks     []*v1beta1.Task
		seen      = map[string]string{} // "<Kind>/<name>" -> file that defines it
	)
	for _, file := range files {
		objs, err := decodeFile(fsys, file)
		if err != nil {
			return nil, nil, fmt.Errorf("catalog: %s: %w", file, err)
		}
		for _, o := range objs {
			if o.name == "" {
				return nil, nil, fmt.Errorf("catalog: %s: document %d: %s without metadata.name", file, o.index, o.kind)
			}
			key := o.kind + "/" + o.name
			if prev, dup := seen[key]; dup {
				return nil, nil, fmt.Errorf("catalog: %s: %s %q is already defined in %s", file, o.kind, o.name, prev)
			}
			seen[key] = file
			if o.function != nil {
				functions = append(functions, o.function)
			} else {
				tasks = append(tasks, o.task)
			}
		}
	}
	return functions, tasks, nil
}

// object is one decoded document: exactly one of function and task is set.
type object struct {
	index      int
	kind, name string
	function   *v1beta1.Function
	task       *v1beta1.Task
}

func decodeFile(fsys fs.FS, file string) ([]object, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	docs, err := manifest.Split(f)
	if err != nil {
		return nil, err
	}
	objs := make([]object, 0, len(docs))
	for _, doc := range docs {
		decoded, err := manifest.Decode(doc.JSON)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc.Index, err)
		}
		o := object{index: doc.Index}
		switch v := decoded.(type) {
		case *v1beta1.Function:
			o.kind, o.name, o.function = "Function", v.Name, v
		case *v1beta1.Task:
			o.kind, o.name, o.task = "Task", v.Name, v
		default:
			gvk := decoded.GetObjectKind().GroupVersionKind()
			return nil, fmt.Errorf("document %d: %s %s is not a Function or Task of %s",
				doc.Index, gvk.GroupVersion(), gvk.Kind, v1beta1.GroupVersion)
		}
		objs = append(objs, o)
	}
	return objs, nil
}
