// Package catalogfiles holds the default Functions and Tasks as YAML manifests,
// one object per file, embedded into the binary. internal/catalog decodes
// them; this package only carries the files.
package catalogfiles

import "embed"

// FS holds every *.yaml file of this directory.
//
//go:embed *.yaml
var FS embed.FS
