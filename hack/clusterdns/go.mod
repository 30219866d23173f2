module github.com/stash-operator/stash/hack/clusterdns

go 1.26.0

require golang.org/x/net v0.59.0
