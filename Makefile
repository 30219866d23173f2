# stash: the Function-Task backup operator. `make help` lists the targets.
SHELL := /usr/bin/env bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.1.0-dev)
LDFLAGS := -s -w -X github.com/stash-operator/stash/internal/version.Version=$(VERSION)
CONTROLLER_GEN := go tool controller-gen
STATICCHECK := go tool staticcheck

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: generate
generate: ## Regenerate deepcopy code, the CRDs and RBAC in config/, and the chart's copies of them.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=stash-operator paths=./internal/... output:rbac:artifacts:config=config/rbac
	bash hack/gen-chart.sh

.PHONY: verify
verify: ## Regenerate and fail if anything generated differs from the tree (CI runs it).
	@snapshot=$$(mktemp -d) && cp -a api config charts go.mod go.sum "$$snapshot"/ && \
	  $(MAKE) --no-print-directory generate >/dev/null && go mod tidy && \
	  if ! diff -r -q "$$snapshot/api" api >/dev/null || ! diff -r -q "$$snapshot/config" config >/dev/null || \
	     ! diff -r -q "$$snapshot/charts" charts >/dev/null || \
	     ! diff -q "$$snapshot/go.mod" go.mod >/dev/null || ! diff -q "$$snapshot/go.sum" go.sum >/dev/null; then \
	    echo "generated files were out of date (now regenerated; review and commit):"; \
	    diff -r -u "$$snapshot/api" api | head -40; diff -r -q "$$snapshot/config" config; diff -r -q "$$snapshot/charts" charts; diff -u "$$snapshot/go.mod" go.mod; \
	    rm -rf "$$snapshot"; exit 1; fi; rm -rf "$$snapshot"; echo "verify: generated code, CRDs and go.mod are up to date"

.PHONY: build
build: ## Build bin/stash.
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/stash ./cmd/stash
	ln -sf stash bin/kubectl-stash # kubectl finds it on PATH: kubectl stash trigger ...

SHELL_SCRIPTS = $(shell git ls-files 'hack/*.sh' 'hack/**/*.sh' .ci/run)

.PHONY: lint
lint: ## gofmt, go vet, staticcheck and shellcheck (apt-get install shellcheck).
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	go vet -tags e2e ./test/e2e/
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags e2e ./test/e2e/
	@command -v shellcheck >/dev/null || { echo "shellcheck is missing: apt-get install shellcheck (or TIERS=lint bash hack/setup-test-infra.sh)"; exit 1; }
	shellcheck -x $(SHELL_SCRIPTS)

.PHONY: test-unit
test-unit: ## Pure tests only (no infrastructure; the rest is skipped).
	go test -short -count=1 ./...

.PHONY: test
test: ## Every tier against real infrastructure, e2e on the local cluster included (installs what is missing; run as root).
	bash hack/test.sh

.PHONY: demo
demo: ## The end-to-end demo: local cluster, operator, PostgreSQL backup and restore (run as root).
	bash hack/demo.sh

.PHONY: test-e2e
test-e2e: ## Only the end-to-end tests, against the running local cluster (KUBECONFIG set, images built; run as root).
	go test -tags e2e -count=1 -v -parallel 4 -timeout 30m ./test/e2e/
