package defaultcatalog

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/resolve/subst"
)

// userParams are the params an invoker may set for a Task: the lowerCamel
// variables of its steps' Functions that the Task's own step params do not
// set (upper-snake names are built-ins).
func userParams(task *v1beta1.Task, functions map[string]*v1beta1.Function) []string {
	var params []string
	for _, step := range task.Spec.Steps {
		set := map[string]bool{}
		for _, p := range step.Params {
			set[p.Name] = true
		}
		walkStrings("spec", reflect.ValueOf(functions[step.Name].Spec), func(_, s string) {
			refs, _ := subst.References(s)
			for _, r := range refs {
				if !upperSnake.MatchString(r) && !set[r] && !slices.Contains(params, r) {
					params = append(params, r)
				}
			}
		})
	}
	slices.Sort(params)
	return params
}

var backticked = regexp.MustCompile("`([^`]+)`")

// catalogTable reads the rows of docs/catalog.md's Task table: the Task
// names of the first column, by the params of the last (the words in
// backquotes of each).
func catalogTable(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile("../../docs/catalog.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue // not a row of the Task table
		}
		var params []string
		for _, m := range backticked.FindAllStringSubmatch(cells[4], -1) {
			params = append(params, m[1])
		}
		slices.Sort(params)
		for _, m := range backticked.FindAllStringSubmatch(cells[1], -1) {
			if _, dup := rows[m[1]]; dup {
				t.Errorf("docs/catalog.md lists Task %q twice", m[1])
			}
			rows[m[1]] = params
		}
	}
	return rows
}

// docs/catalog.md lists every Task the catalog installs, and no other, each
// with exactly the params an invoker may set.
func TestCatalogDocListsEveryTaskAndItsParams(t *testing.T) {
	functions, tasks := mustLoad(t, testImage)
	byName := map[string]*v1beta1.Function{}
	for _, fn := range functions {
		byName[fn.Name] = fn
	}
	documented := catalogTable(t)
	for _, task := range tasks {
		params, ok := documented[task.Name]
		if !ok {
			t.Errorf("docs/catalog.md does not list Task %q", task.Name)
			continue
		}
		delete(documented, task.Name)
		if diff := cmp.Diff(userParams(task, byName), params); diff != "" {
			t.Errorf("docs/catalog.md, Task %q: params (-catalog +doc):\n%s", task.Name, diff)
		}
	}
	for name := range documented {
		t.Errorf("docs/catalog.md lists Task %q, which the catalog does not install", name)
	}
}
