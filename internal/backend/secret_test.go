package backend

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMissingSecretKeys(t *testing.T) {
	keys := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	tests := map[string]struct {
		provider string
		has      map[string]bool
		want     []string
	}{
		"local: the password is all":              {ProviderLocal, keys(KeyResticPassword), nil},
		"no password":                             {ProviderLocal, keys(), []string{"it has no key RESTIC_PASSWORD: add the repository's password under it"}},
		"s3 without keys: the pod's own identity": {ProviderS3, keys(KeyResticPassword), nil},
		"s3 with both keys":                       {ProviderS3, keys(KeyResticPassword, KeyAWSAccessKeyID, KeyAWSSecretAccessKey), nil},
		"s3 with half a key pair": {ProviderS3, keys(KeyResticPassword, KeyAWSAccessKeyID),
			[]string{"it has AWS_ACCESS_KEY_ID but no AWS_SECRET_ACCESS_KEY: the s3 backend reads them together, add AWS_SECRET_ACCESS_KEY"}},
		"b2 needs its account": {ProviderB2, keys(KeyResticPassword),
			[]string{"it has neither B2_ACCOUNT_ID nor B2_ACCOUNT_KEY: the b2 backend needs both"}},
		"azure without password and key": {ProviderAzure, keys(KeyAzureAccountName), []string{
			"it has no key RESTIC_PASSWORD: add the repository's password under it",
			"it has AZURE_ACCOUNT_NAME but no AZURE_ACCOUNT_KEY: the azure backend reads them together, add AZURE_ACCOUNT_KEY"}},
		"rest without credentials": {ProviderRest, keys(KeyResticPassword), nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, MissingSecretKeys(tc.provider, tc.has)); diff != "" {
				t.Errorf("MissingSecretKeys (-want +got):\n%s", diff)
			}
		})
	}
}
