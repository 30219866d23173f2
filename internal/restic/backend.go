package restic

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/stash-operator/stash/internal/backend"
)

// What restic needs to reach a backend besides its repository string: the
// storage Secret's files mapped onto restic's environment, and restic's
// options for the backend.

// swiftKeys are passed to restic under their own names: restic's swift
// backend reads exactly these variables.
var swiftKeys = []string{
	"ST_AUTH", "ST_USER", "ST_KEY",
	"OS_AUTH_URL", "OS_REGION_NAME", "OS_USERNAME", "OS_PASSWORD", "OS_TENANT_ID", "OS_TENANT_NAME",
	"OS_USER_DOMAIN_NAME", "OS_PROJECT_NAME", "OS_PROJECT_DOMAIN_NAME",
	"OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_SECRET", "OS_APPLICATION_CREDENTIAL_NAME",
	"OS_STORAGE_URL", "OS_AUTH_TOKEN",
}

// secretKeys are the keys whose values are credentials. Their values are
// scrubbed from everything restic prints that reaches an error or a log.
// Identifiers such as a region, a project id or an auth URL are not scrubbed:
// hiding them would make error messages useless and they grant nothing.
var secretKeys = map[string]bool{
	backend.KeyResticPassword:          true,
	backend.KeyAWSAccessKeyID:          true,
	backend.KeyAWSSecretAccessKey:      true,
	backend.KeyAzureAccountKey:         true,
	backend.KeyB2AccountKey:            true,
	backend.KeyRestServerPassword:      true,
	"ST_KEY":                           true,
	"OS_PASSWORD":                      true,
	"OS_APPLICATION_CREDENTIAL_SECRET": true,
	"OS_AUTH_TOKEN":                    true,
}

// connectionsOption is restic's extended option limiting concurrent
// connections, or "" when the provider has none or no limit is set.
func connectionsOption(b backend.Backend) string {
	if b.MaxConnections <= 0 {
		return ""
	}
	scheme := map[string]string{
		backend.ProviderS3: "s3", backend.ProviderGCS: "gs", backend.ProviderAzure: "azure", backend.ProviderB2: "b2",
		backend.ProviderSwift: "swift", backend.ProviderRest: "rest",
	}[b.Provider]
	if scheme == "" {
		return ""
	}
	return scheme + ".connections=" + strconv.Itoa(b.MaxConnections)
}

// secretEnv is what New derives from the storage Secret.
type secretEnv struct {
	env    map[string]string // variables for restic's environment
	args   []string          // extra global arguments (file paths only, never values)
	secret []string          // credential values, to scrub from output
}

// readSecretEnv reads the storage Secret's files and maps them onto restic's
// environment (reference §2.3). Values are only ever read, never logged.
func readSecretEnv(b backend.Backend) (secretEnv, error) {
	se := secretEnv{env: map[string]string{}}
	if b.SecretDir == "" {
		return se, fmt.Errorf("no storage Secret directory given: set --secret-dir to where the Secret with %s is mounted", backend.KeyResticPassword)
	}
	read := func(key string) (string, bool, error) {
		p := filepath.Join(b.SecretDir, key)
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			return "", false, nil
		}
		if err != nil {
			// The error names the file, never its content.
			return "", false, fmt.Errorf("read storage Secret key %s in %s: %w", key, b.SecretDir, unwrapPathError(err))
		}
		v := string(data)
		if key != backend.KeyResticPassword {
			// A trailing newline (echo > file) is never part of a credential.
			// The password is kept verbatim: a repository created by Stash
			// with such a password must still open.
			v = strings.TrimRight(v, "\r\n")
		}
		if secretKeys[key] && v != "" {
			se.secret = append(se.secret, v)
			if t := strings.TrimSpace(v); t != v && t != "" {
				se.secret = append(se.secret, t)
			}
		}
		return v, true, nil
	}
	set := func(key, envName string) error {
		v, ok, err := read(key)
		if err != nil || !ok {
			return err
		}
		se.env[envName] = v
		return nil
	}

	pw, ok, err := read(backend.KeyResticPassword)
	if err != nil {
		return se, err
	}
	if !ok || pw == "" {
		return se, fmt.Errorf("storage Secret key %s is missing or empty in %s: add the repository password to the Secret", backend.KeyResticPassword, b.SecretDir)
	}
	se.env["RESTIC_PASSWORD"] = pw

	if _, err := os.Stat(filepath.Join(b.SecretDir, backend.KeyCACertData)); err == nil {
		// restic reads the certificate from the mounted file itself.
		se.args = append(se.args, "--cacert", filepath.Join(b.SecretDir, backend.KeyCACertData))
	}

	switch b.Provider {
	case backend.ProviderS3:
		for _, k := range []string{backend.KeyAWSAccessKeyID, backend.KeyAWSSecretAccessKey} {
			if err := set(k, k); err != nil {
				return se, err
			}
		}
		if b.Region != "" {
			se.env["AWS_DEFAULT_REGION"] = b.Region
		}
	case backend.ProviderGCS:
		if err := set(backend.KeyGoogleProjectID, backend.KeyGoogleProjectID); err != nil {
			return se, err
		}
		if _, err := os.Stat(filepath.Join(b.SecretDir, backend.KeyGoogleServiceAccount)); err == nil {
			se.env["GOOGLE_APPLICATION_CREDENTIALS"] = filepath.Join(b.SecretDir, backend.KeyGoogleServiceAccount)
		}
	case backend.ProviderAzure:
		for _, k := range []string{backend.KeyAzureAccountName, backend.KeyAzureAccountKey} {
			if err := set(k, k); err != nil {
				return se, err
			}
		}
	case backend.ProviderB2:
		for _, k := range []string{backend.KeyB2AccountID, backend.KeyB2AccountKey} {
			if err := set(k, k); err != nil {
				return se, err
			}
		}
	case backend.ProviderSwift:
		for _, k := range swiftKeys {
			if err := set(k, k); err != nil {
				return se, err
			}
		}
	case backend.ProviderRest:
		if err := set(backend.KeyRestServerUsername, "RESTIC_REST_USERNAME"); err != nil {
			return se, err
		}
		if err := set(backend.KeyRestServerPassword, "RESTIC_REST_PASSWORD"); err != nil {
			return se, err
		}
	}
	// Longest first, so that scrubbing a secret that contains another one
	// removes the whole of it.
	sort.Slice(se.secret, func(i, j int) bool { return len(se.secret[i]) > len(se.secret[j]) })
	return se, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
