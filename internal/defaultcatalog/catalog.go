// Package defaultcatalog loads the default Functions and Tasks that ship
// with the operator (config/catalog): PVC, PostgreSQL 15 and MySQL/MariaDB
// 10.11 backup and restore, and update-status.
package defaultcatalog

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/config/catalog"
	"github.com/stash-operator/stash/internal/manifest"
)

// Load decodes every catalog object strictly and sets every Function's image to image (e.g. "stash:v0.1.0").
// Functions and Tasks are each sorted by name.
func Load(image string) (functions []*v1beta1.Function, tasks []*v1beta1.Task, err error) {
	return load(catalogfiles.FS, image)
}

// load is Load for any file system.
func load(fsys fs.FS, image string) ([]*v1beta1.Function, []*v1beta1.Task, error) {
	if image == "" {
		return nil, nil, errors.New("catalog: the Functions' image must not be empty")
	}
	functions, tasks, err := read(fsys)
	if err != nil {
		return nil, nil, err
	}
	for _, fn := range functions {
		fn.Spec.Image = image
	}
	return functions, tasks, nil
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
	slices.SortFunc(functions, func(a, b *v1beta1.Function) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(tasks, func(a, b *v1beta1.Task) int { return strings.Compare(a.Name, b.Name) })
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
