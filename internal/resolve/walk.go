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
// rendered only when a message needs it: building it eagerly for every string
// of every Function would cost more than the substitution itself.
type fieldPath []pathSegment

// pathSegment is a field name, a slice index (index >= 0) or a map key (isKey).
type pathSegment struct {
	name  string
	index int
	isKey bool
}

func field(name string) pathSegment { return pathSegment{name: name, index: -1} }
func index(i int) pathSegment       { return pathSegment{index: i} }

// path builds a fieldPath from field names, with room to grow without allocating.
func path(names ...string) fieldPath {
	p := make(fieldPath, 0, 16)
	for _, n := range names {
		p = append(p, field(n))
	}
	return p
}

func (p fieldPath) String() string {
	var b strings.Builder
	for i, seg := range p {
		switch {
		case seg.isKey:
			b.WriteString("[" + seg.name + "]")
		case seg.index >= 0:
			b.WriteString("[" + strconv.Itoa(seg.index) + "]")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(seg.name)
		}
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
func walkStrings(v reflect.Value, at fieldPath, visit visitFunc) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), at, visit)
		}
	case reflect.Struct:
		for _, f := range fieldsOf(v.Type()) {
			if f.inline {
				walkStrings(v.Field(f.index), at, visit)
				continue
			}
			walkStrings(v.Field(f.index), append(at, field(f.name)), visit)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), append(at, index(i)), visit)
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
			if out, ok := visit(append(at, pathSegment{name: iter.Key().String(), isKey: true}), s); ok && out != s {
				v.SetMapIndex(iter.Key(), reflect.ValueOf(out).Convert(v.Type().Elem()))
			}
		}
	case reflect.String:
		s := v.String()
		if !v.CanSet() || strings.IndexByte(s, '$') < 0 {
			return
		}
		if out, ok := visit(at, s); ok && out != s {
			v.SetString(out)
		}
	}
}
