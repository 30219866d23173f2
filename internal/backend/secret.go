package backend

import "fmt"

// secretKeyPairs are the storage Secret's keys a provider reads together:
// one without the other is a mistake. Both absent is not one for s3, gcs
// and rest, whose clients fall back to the node's or pod's own identity
// (an IAM role, workload identity) or need none.
var secretKeyPairs = map[string]struct {
	keys     [2]string
	required bool
}{
	ProviderS3:    {keys: [2]string{KeyAWSAccessKeyID, KeyAWSSecretAccessKey}},
	ProviderGCS:   {keys: [2]string{KeyGoogleProjectID, KeyGoogleServiceAccount}},
	ProviderRest:  {keys: [2]string{KeyRestServerUsername, KeyRestServerPassword}},
	ProviderAzure: {keys: [2]string{KeyAzureAccountName, KeyAzureAccountKey}, required: true},
	ProviderB2:    {keys: [2]string{KeyB2AccountID, KeyB2AccountKey}, required: true},
}

// MissingSecretKeys says what the storage Secret of a repository of
// provider lacks, given the keys it has: RESTIC_PASSWORD always, and the
// provider's credentials. Each problem is one sentence that says what to
// add.
func MissingSecretKeys(provider string, has map[string]bool) []string {
	var missing []string
	if !has[KeyResticPassword] {
		missing = append(missing, fmt.Sprintf("it has no key %s: add the repository's password under it", KeyResticPassword))
	}
	pair, ok := secretKeyPairs[provider]
	if !ok {
		return missing
	}
	a, b := pair.keys[0], pair.keys[1]
	switch {
	case has[a] && has[b]:
	case has[a] || has[b]:
		var absent, present string
		if has[a] {
			present, absent = a, b
		} else {
			present, absent = b, a
		}
		missing = append(missing, fmt.Sprintf("it has %s but no %s: the %s backend reads them together, add %s", present, absent, provider, absent))
	case pair.required:
		missing = append(missing, fmt.Sprintf("it has neither %s nor %s: the %s backend needs both", a, b, provider))
	}
	return missing
}
