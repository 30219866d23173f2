package manifest

import (
	"errors"
	"strings"
	"testing"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

func TestDecodeRejects(t *testing.T) {
	tests := map[string]struct {
		doc     string
		wantErr string
	}{
		"unknown field": {
			doc:     "apiVersion: stash.appscode.com/v1beta1\nkind: Task\nmetadata: {name: t}\nspec:\n  stepz: []\n",
			wantErr: `unknown field "spec.stepz"`,
		},
		"duplicate field": {
			doc:     `{"apiVersion":"stash.appscode.com/v1beta1","kind":"Task","metadata":{"name":"a","name":"b"}}`,
			wantErr: `key "name" already set`,
		},
		"wrong case": {
			doc:     "apiVersion: stash.appscode.com/v1beta1\nkind: Function\nmetadata: {name: f}\nspec:\n  Image: x\n",
			wantErr: `unknown field "spec.Image"`,
		},
		"foreign kind": {
			doc:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
			wantErr: ErrUnknownKind.Error(),
		},
		"no kind": {
			doc:     "apiVersion: v1\nmetadata: {name: c}\n",
			wantErr: "apiVersion and kind must be set",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			// A problem may be caught while splitting (YAML level) or
			// while decoding (schema level); either must report it.
			docs, err := Split(strings.NewReader(tc.doc))
			if err == nil {
				_, err = Decode(docs[0].JSON)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Decode error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestSplitSkipsEmptyDocuments(t *testing.T) {
	stream := "# comment only\n---\napiVersion: stash.appscode.com/v1beta1\nkind: Task\nmetadata: {name: a}\n---\n---\n" +
		`{"apiVersion":"stash.appscode.com/v1beta1","kind":"Function","metadata":{"name":"b"},"spec":{"image":"x"}}` + "\n"
	docs, err := Split(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	obj, err := Decode(docs[1].JSON)
	if err != nil {
		t.Fatal(err)
	}
	fn, ok := obj.(*stashv1beta1.Function)
	if !ok || fn.Name != "b" || fn.Spec.Image != "x" {
		t.Fatalf("decoded %#v", obj)
	}
	if _, err := Decode(docs[0].JSON); err != nil && errors.Is(err, ErrUnknownKind) {
		t.Fatalf("Task is one of our kinds: %v", err)
	}
}
