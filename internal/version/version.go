// Package version holds the build's version, set with -ldflags at build time.
package version

// Version of the stash binary and the image tag of the default catalog,
// e.g. v0.1.0. Set with -ldflags "-X github.com/stash-operator/stash/internal/version.Version=...".
var Version = "v0.1.0-dev"

// Image is the default stash image, the one the catalog Functions use.
func Image() string { return "stash:" + Version }
