package crd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stash-operator/stash/internal/manifest"
	"github.com/stash-operator/stash/internal/testenv"
)

// corpusApplied are the corpus categories whose objects a v0.9 user
// applies: the user guides, the addons' examples, pages and catalogs, the
// operator's default Functions and Tasks, and the documentation's
// manifests and `kubectl get -o yaml` output (which users paste back).
// dev, design and crds-reference are upstream's own test, proposal and
// reference material, several invalid for v0.9 itself.
var corpusApplied = map[string]bool{
	"guide": true, "addon-example": true, "addon-md": true, "addon-catalog": true, "operator-default": true,
	"md": true, "md-output": true, "addon-md-output": true,
}

// serverSetMetadata are the metadata fields of `kubectl get -o yaml` output
// that the API server sets: a create that carries them is refused or has
// them ignored, so a user pasting the output back removes them (as
// kubectl apply does for most of them).
var serverSetMetadata = []string{"resourceVersion", "uid", "creationTimestamp", "generation", "selfLink", "managedFields"}

// The verdicts of UPSTREAM-SCHEMA.tsv that are not "valid": v0.9's own
// schema refused the object ("type error for v0.9: FIELD(GOT, want WANT)"),
// or dropped a field it did not know ("unknown to v0.9 (pruned): FIELD").
var (
	typeError   = regexp.MustCompile(`^type error for v0\.9: ([^(]+)\(`)
	prunedField = regexp.MustCompile(`^unknown to v0\.9 \(pruned\): (\S+)$`)
)

// placeholder is a documentation template's stand-in for a name
// ("<my_database_namespace>"), which the reader replaces.
var placeholder = regexp.MustCompile(`^<[^>]+>$`)

// corpusObject is one document of the corpus, by its INDEX.tsv row.
type corpusObject struct {
	id, kind, category string // id is FILE#DOC
	json               []byte
	refusedField       string // the field v0.9 refused, if it did
	prunedField        string // the field v0.9 dropped, if it did
}

func corpusObjects(t *testing.T) []corpusObject {
	dir := testenv.V09Corpus(t)
	refused, pruned := map[string]string{}, map[string]string{}
	for _, row := range testenv.ReadTSV(t, filepath.Join(dir, "UPSTREAM-SCHEMA.tsv")) {
		if m := typeError.FindStringSubmatch(row[len(row)-1]); m != nil {
			refused[row[0]] = m[1]
		}
		if m := prunedField.FindStringSubmatch(row[len(row)-1]); m != nil {
			pruned[row[0]] = m[1]
		}
	}
	docs := map[string][]manifest.Document{} // by file
	var objs []corpusObject
	for _, row := range testenv.ReadTSV(t, filepath.Join(dir, "INDEX.tsv"))[1:] { // the first row is the header
		if len(row) < 6 {
			t.Fatalf("INDEX.tsv: short row %q", row)
		}
		file, kind, category := row[0], row[3], row[5]
		if !corpusApplied[category] {
			continue
		}
		index, err := strconv.Atoi(row[1])
		if err != nil {
			t.Fatalf("INDEX.tsv: row %q: document %q is not a number", row, row[1])
		}
		if _, read := docs[file]; !read {
			f, err := os.Open(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			docs[file], err = manifest.Split(f)
			f.Close()
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
		}
		if index >= len(docs[file]) {
			t.Fatalf("%s has %d documents, INDEX.tsv names document %d", file, len(docs[file]), index)
		}
		id := fmt.Sprintf("%s#%d", file, index)
		objs = append(objs, corpusObject{id: id, kind: kind, category: category,
			json: docs[file][index].JSON, refusedField: refused[id], prunedField: pruned[id]})
	}
	return objs
}

// TestV09CorpusAccepted applies every object of the v0.9 corpus that a user
// applies, as a server-side dry run with strict field validation (kubectl
// apply's default): each must decode strictly into our types and be
// accepted by the API server. What v0.9's own schema did not accept is
// treated as v0.9 treated it, and the user learns why:
//   - a type error (a port written as a string, a version as a number) is
//     refused by the decoder and the API server, naming the field;
//   - a field v0.9 did not know and dropped (the guides' tempDir.disableCache,
//     which is disableCaching; target.ref.replicas, which is
//     target.replicas) is refused under strict validation, naming it, and
//     dropped under kubectl apply --validate=false, as v0.9 did.
func TestV09CorpusAccepted(t *testing.T) {
	c := newClient(t)
	objs := corpusObjects(t)
	byCategory := map[string]int{}
	for _, o := range objs {
		byCategory[o.category]++
		t.Run(o.id, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(o.json); err != nil {
				t.Fatalf("not an object: %v", err)
			}
			for _, field := range serverSetMetadata {
				unstructured.RemoveNestedField(u.Object, "metadata", field)
			}
			unstructured.RemoveNestedField(u.Object, "status")
			if ns := u.GetNamespace(); ns == "" || placeholder.MatchString(ns) {
				u.SetNamespace("corpus")
			}
			if placeholder.MatchString(u.GetName()) {
				u.SetName("placeholder")
			}
			ensureNamespace(t, c, u.GetNamespace())
			js, err := u.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			_, decodeErr := manifest.Decode(js)
			applyErr := c.Create(context.Background(), u.DeepCopy(), client.DryRunAll, client.FieldValidation("Strict"))
			switch {
			case o.refusedField != "":
				// The field by its last part: the decoder and the API
				// server spell the path differently.
				last := o.refusedField[strings.LastIndex(o.refusedField, ".")+1:]
				if decodeErr == nil || !strings.Contains(decodeErr.Error(), last) {
					t.Errorf("decoding %s %s: err = %v, want one naming %s", o.kind, u.GetName(), decodeErr, o.refusedField)
				}
				if applyErr == nil || !strings.Contains(applyErr.Error(), o.refusedField) {
					t.Errorf("applying %s %s: err = %v, want one naming %s", o.kind, u.GetName(), applyErr, o.refusedField)
				}
			case o.prunedField != "":
				for what, err := range map[string]error{"decoding": decodeErr, "applying (strict)": applyErr} {
					if err == nil || !strings.Contains(err.Error(), `unknown field "`+o.prunedField+`"`) {
						t.Errorf("%s %s %s: err = %v, want one naming the unknown field %s", what, o.kind, u.GetName(), err, o.prunedField)
					}
				}
				lenient := u.DeepCopy()
				if err := c.Create(context.Background(), lenient, client.DryRunAll, client.FieldValidation("Ignore")); err != nil {
					t.Fatalf("the API server refuses %s %s without strict validation: %v", o.kind, u.GetName(), err)
				}
				if _, found, _ := unstructured.NestedFieldNoCopy(lenient.Object, strings.Split(o.prunedField, ".")...); found {
					t.Errorf("%s %s: %s was kept, want it dropped as v0.9 did", o.kind, u.GetName(), o.prunedField)
				}
			default:
				if decodeErr != nil {
					t.Errorf("%s %s does not decode strictly: %v", o.kind, u.GetName(), decodeErr)
				}
				if applyErr != nil {
					t.Errorf("the API server refuses %s %s: %v", o.kind, u.GetName(), applyErr)
				}
			}
		})
	}
	// A corpus that lost its rows must not pass by testing nothing.
	for category := range corpusApplied {
		if byCategory[category] == 0 {
			t.Errorf("the corpus has no object of category %s", category)
		}
	}
	t.Logf("%d objects applied: %v", len(objs), byCategory)
}
