package resolve

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// The substitution runs over the typed spec, field by field, never over its
// serialised JSON: a value holding quotes, backslashes or newlines stays one
// string and cannot add fields or arguments (Stash resolved the JSON text).

// fieldPath is the JSON path of the field being visited, kept as segments and
// rendered only when a message needs it.
type fieldPath []string

func (p fieldPath) String() string {
	var b strings.Builder
	for i, seg := range p {
		if i > 0 && !strings.HasPrefix(seg, "[") {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

// visitFunc returns the new value of a string field, or ok=false to keep it.
type visitFunc func(path fieldPath, s string) (string, bool)

type structField struct {
	index  int
	name   string // JSON name; empty for an inlined struct
	inline bool
}

var fieldCache sync.Map // reflect.Type -> []structField

func fieldsOf(t reflect.Type) []structField {
	if cached, ok := fieldCache.Load(t); ok {
		return cached.([]structField)
	}
	var fields []structField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue // e.g. resource.Quantity's internals
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		inline := strings.Contains(opts, "inline") || (name == "" && f.Anonymous)
		if name == "" && !inline {
			name = f.Name
		}
		fields = append(fields, structField{index: i, name: name, inline: inline})
	}
	fieldCache.Store(t, fields)
	return fields
}

// walkStrings calls visit for every settable string reachable from v through
// structs, pointers, slices and string-valued maps, and stores what it returns.
// Strings without '$' are skipped: they cannot hold a placeholder.
func walkStrings(v reflect.Value, path fieldPath, visit visitFunc) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, visit)
		}
	case reflect.Struct:
		for _, f := range fieldsOf(v.Type()) {
			if f.inline {
				walkStrings(v.Field(f.index), path, visit)
				continue
			}
			walkStrings(v.Field(f.index), append(path, f.name), visit)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), append(path, "["+strconv.Itoa(i)+"]"), visit)
		}
	case reflect.Map:
		if v.Type().Elem().Kind() != reflect.String || v.Type().Key().Kind() != reflect.String {
			return
		}
		iter := v.MapRange()
		for iter.Next() {
			s := iter.Value().String()
			if strings.IndexByte(s, '$') < 0 {
				continue
			}
			if out, ok := visit(append(path, "["+iter.Key().String()+"]"), s); ok && out != s {
				v.SetMapIndex(iter.Key(), reflect.ValueOf(out).Convert(v.Type().Elem()))
			}
		}
	case reflect.String:
		s := v.String()
		if !v.CanSet() || strings.IndexByte(s, '$') < 0 {
			return
		}
		if out, ok := visit(path, s); ok && out != s {
			v.SetString(out)
		}
	}
}
