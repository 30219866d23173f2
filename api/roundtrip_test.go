// Package api_test checks that Stash v0.9 manifests decode strictly into our
// typed API and re-encode to the same JSON, i.e. that no field of theirs is
// unknown to us, renamed or reshaped.
package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stash-operator/stash/internal/manifest"
)

func TestStashV09ManifestsRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "v0.9", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("found %d example manifests, want one per kind at least", len(files))
	}
	kinds := map[string]bool{}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			docs, err := manifest.Split(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range docs {
				obj, err := manifest.Decode(doc.JSON)
				if err != nil {
					t.Fatalf("strict decode: %v", err)
				}
				kinds[obj.GetObjectKind().GroupVersionKind().Kind] = true
				reencoded, err := json.Marshal(obj)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(normalize(t, doc.JSON), normalize(t, reencoded)); diff != "" {
					t.Errorf("re-encoded JSON differs from the manifest (-manifest +re-encoded):\n%s", diff)
				}
			}
		})
	}
	for _, kind := range []string{"Function", "Task", "Repository", "BackupConfiguration", "BackupSession", "RestoreSession", "AppBinding"} {
		if !kinds[kind] {
			t.Errorf("no example manifest of kind %s in testdata/v0.9", kind)
		}
	}
}

// normalize parses JSON into generic values and removes what carries no
// meaning for the API: explicit zero scalars (false, 0, "" mean the same as
// leaving the field out, and omitempty drops them) and the
// metadata.creationTimestamp: null that every typed object adds on encoding.
// Strict decoding has already rejected unknown fields, so a field we do not
// know cannot hide behind this.
func normalize(t *testing.T, js []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	return dropZeroScalars(v)
}

func dropZeroScalars(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch e {
			case nil, false, float64(0), "":
				delete(x, k)
				continue
			}
			x[k] = dropZeroScalars(e)
		}
	case []any:
		for i := range x {
			x[i] = dropZeroScalars(x[i])
		}
	}
	return v
}
