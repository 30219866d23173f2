// Package backend describes where a restic repository lives (the data-plane
// flags --provider --bucket --endpoint --region --path) and the repository
// string restic is given for it (reference §2.3).
//
// It is pure: the resolver computes REPOSITORY_URL with it and the restic
// runner opens the same string, so neither can drift from the other, and the
// resolver links nothing that runs restic.
package backend

import (
	"fmt"
	"net/url"
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

// Providers lists every provider Repository accepts, in the order error
// messages name them.
var Providers = []string{ProviderLocal, ProviderS3, ProviderGCS, ProviderAzure, ProviderSwift, ProviderB2, ProviderRest}

// defaultS3Endpoint is AWS itself, used when a Repository names no endpoint.
const defaultS3Endpoint = "s3.amazonaws.com"

// Storage Secret keys (reference §2.3). Each is a file in Backend.SecretDir.
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
			return "", fmt.Errorf("rest backend endpoint %q is not a URL: set --endpoint to e.g. http://rest-server:8000/repo", RedactURL(b.Endpoint))
		}
		// Credentials in the URL would end up in process arguments, logs and
		// status; they belong in the storage Secret.
		if u.User != nil {
			return "", fmt.Errorf("rest backend endpoint %s contains credentials: remove them from the URL and put them in the storage Secret as %s and %s",
				RedactURL(b.Endpoint), KeyRestServerUsername, KeyRestServerPassword)
		}
		return "rest:" + b.Endpoint, nil
	case "":
		return "", fmt.Errorf("no storage provider given: set --provider to one of %s", strings.Join(Providers, ", "))
	default:
		return "", fmt.Errorf("unknown storage provider %q: use one of %s", b.Provider, strings.Join(Providers, ", "))
	}
}

// RedactURL drops any userinfo so that an error message never repeats a
// password somebody put in a URL.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	return u.String()
}
