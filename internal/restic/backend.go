package restic

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Provider names, as the data-plane flag --provider spells them (reference §2.3).
const (
	ProviderLocal = "local"
	ProviderS3    = "s3"
	ProviderGCS   = "gcs"
	ProviderAzure = "azure"
	ProviderSwift = "swift"
	ProviderB2    = "b2"
	ProviderRest  = "rest"
)

// Providers lists every provider New accepts, in the order error messages name them.
var Providers = []string{ProviderLocal, ProviderS3, ProviderGCS, ProviderAzure, ProviderSwift, ProviderB2, ProviderRest}

// defaultS3Endpoint is AWS itself, used when a Repository names no endpoint.
const defaultS3Endpoint = "s3.amazonaws.com"

// Backend is where the restic repository lives. Its fields come straight from
// the data-plane flags --provider --bucket --endpoint --region --path
// --max-connections --secret-dir.
type Backend struct {
	Provider string
	// Bucket is the bucket or container; for local, the directory the
	// repository volume is mounted at.
	Bucket string
	// Endpoint is the S3 endpoint (host[:port], optionally with an http:// or
	// https:// scheme) or, for rest, the REST server URL.
	Endpoint string
	// Region is the S3 region (AWS_DEFAULT_REGION for restic).
	Region string
	// Prefix is the directory inside the bucket (flag --path).
	Prefix string
	// MaxConnections > 0 limits restic's concurrent backend connections.
	MaxConnections int
	// SecretDir is where the storage Secret is mounted, one file per key.
	SecretDir string
}

// Storage Secret keys (reference §2.3). Each is a file in SecretDir.
const (
	KeyResticPassword       = "RESTIC_PASSWORD"
	KeyCACertData           = "CA_CERT_DATA"
	KeyAWSAccessKeyID       = "AWS_ACCESS_KEY_ID"
	KeyAWSSecretAccessKey   = "AWS_SECRET_ACCESS_KEY"
	KeyGoogleProjectID      = "GOOGLE_PROJECT_ID"
	KeyGoogleServiceAccount = "GOOGLE_SERVICE_ACCOUNT_JSON_KEY"
	KeyAzureAccountName     = "AZURE_ACCOUNT_NAME"
	KeyAzureAccountKey      = "AZURE_ACCOUNT_KEY"
	KeyB2AccountID          = "B2_ACCOUNT_ID"
	KeyB2AccountKey         = "B2_ACCOUNT_KEY"
	KeyRestServerUsername   = "REST_SERVER_USERNAME"
	KeyRestServerPassword   = "REST_SERVER_PASSWORD"
)

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
	KeyResticPassword:                  true,
	KeyAWSAccessKeyID:                  true,
	KeyAWSSecretAccessKey:              true,
	KeyAzureAccountKey:                 true,
	KeyB2AccountKey:                    true,
	KeyRestServerPassword:              true,
	"ST_KEY":                           true,
	"OS_PASSWORD":                      true,
	"OS_APPLICATION_CREDENTIAL_SECRET": true,
	"OS_AUTH_TOKEN":                    true,
}

// Repository returns the restic repository string for b (reference §2.3).
// It never contains credentials: for rest they travel in the environment.
func (b Backend) Repository() (string, error) {
	prefix := strings.Trim(b.Prefix, "/")
	// need names the flag to set when a required field is empty.
	need := func(flag, value string) error {
		if strings.TrimSpace(value) == "" {
			return fmt.Errorf("%s backend needs --%s", b.Provider, flag)
		}
		return nil
	}
	switch b.Provider {
	case ProviderLocal:
		if err := need("bucket", b.Bucket); err != nil {
			return "", err
		}
		if prefix == "" {
			return b.Bucket, nil
		}
		return strings.TrimRight(b.Bucket, "/") + "/" + prefix, nil
	case ProviderS3:
		if err := need("bucket", b.Bucket); err != nil {
			return "", err
		}
		ep := strings.TrimRight(b.Endpoint, "/")
		if ep == "" {
			ep = defaultS3Endpoint
		}
		repo := "s3:" + ep + "/" + strings.Trim(b.Bucket, "/")
		if prefix != "" {
			repo += "/" + prefix
		}
		return repo, nil
	case ProviderGCS, ProviderAzure, ProviderSwift, ProviderB2:
		if err := need("bucket", b.Bucket); err != nil {
			return "", err
		}
		scheme := map[string]string{ProviderGCS: "gs", ProviderAzure: "azure", ProviderSwift: "swift", ProviderB2: "b2"}[b.Provider]
		return scheme + ":" + b.Bucket + ":/" + prefix, nil
	case ProviderRest:
		if err := need("endpoint", b.Endpoint); err != nil {
			return "", err
		}
		u, err := url.Parse(b.Endpoint)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return "", fmt.Errorf("rest backend endpoint %q is not a URL: set --endpoint to e.g. http://rest-server:8000/repo", redactURL(b.Endpoint))
		}
		// Credentials in the URL would end up in process arguments, logs and
		// status; they belong in the storage Secret.
		if u.User != nil {
			return "", fmt.Errorf("rest backend endpoint %s contains credentials: remove them from the URL and put them in the storage Secret as %s and %s",
				redactURL(b.Endpoint), KeyRestServerUsername, KeyRestServerPassword)
		}
		return "rest:" + b.Endpoint, nil
	case "":
		return "", fmt.Errorf("no storage provider given: set --provider to one of %s", strings.Join(Providers, ", "))
	default:
		return "", fmt.Errorf("unknown storage provider %q: use one of %s", b.Provider, strings.Join(Providers, ", "))
	}
}

// redactURL drops any userinfo so that an error message never repeats a
// password somebody put in a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	return u.String()
}

// connectionsOption is restic's extended option limiting concurrent
// connections, or "" when the provider has none or no limit is set.
func (b Backend) connectionsOption() string {
	if b.MaxConnections <= 0 {
		return ""
	}
	scheme := map[string]string{
		ProviderS3: "s3", ProviderGCS: "gs", ProviderAzure: "azure", ProviderB2: "b2",
		ProviderSwift: "swift", ProviderRest: "rest",
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
func readSecretEnv(b Backend) (secretEnv, error) {
	se := secretEnv{env: map[string]string{}}
	if b.SecretDir == "" {
		return se, fmt.Errorf("no storage Secret directory given: set --secret-dir to where the Secret with %s is mounted", KeyResticPassword)
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
		if key != KeyResticPassword {
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

	pw, ok, err := read(KeyResticPassword)
	if err != nil {
		return se, err
	}
	if !ok || pw == "" {
		return se, fmt.Errorf("storage Secret key %s is missing or empty in %s: add the repository password to the Secret", KeyResticPassword, b.SecretDir)
	}
	se.env["RESTIC_PASSWORD"] = pw

	if _, err := os.Stat(filepath.Join(b.SecretDir, KeyCACertData)); err == nil {
		// restic reads the certificate from the mounted file itself.
		se.args = append(se.args, "--cacert", filepath.Join(b.SecretDir, KeyCACertData))
	}

	switch b.Provider {
	case ProviderS3:
		for _, k := range []string{KeyAWSAccessKeyID, KeyAWSSecretAccessKey} {
			if err := set(k, k); err != nil {
				return se, err
			}
		}
		if b.Region != "" {
			se.env["AWS_DEFAULT_REGION"] = b.Region
		}
	case ProviderGCS:
		if err := set(KeyGoogleProjectID, KeyGoogleProjectID); err != nil {
			return se, err
		}
		if _, err := os.Stat(filepath.Join(b.SecretDir, KeyGoogleServiceAccount)); err == nil {
			se.env["GOOGLE_APPLICATION_CREDENTIALS"] = filepath.Join(b.SecretDir, KeyGoogleServiceAccount)
		}
	case ProviderAzure:
		for _, k := range []string{KeyAzureAccountName, KeyAzureAccountKey} {
			if err := set(k, k); err != nil {
				return se, err
			}
		}
	case ProviderB2:
		for _, k := range []string{KeyB2AccountID, KeyB2AccountKey} {
			if err := set(k, k); err != nil {
				return se, err
			}
		}
	case ProviderSwift:
		for _, k := range swiftKeys {
			if err := set(k, k); err != nil {
				return se, err
			}
		}
	case ProviderRest:
		if err := set(KeyRestServerUsername, "RESTIC_REST_USERNAME"); err != nil {
			return se, err
		}
		if err := set(KeyRestServerPassword, "RESTIC_REST_PASSWORD"); err != nil {
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
