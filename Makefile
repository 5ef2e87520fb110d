# wallet-operator Makefile. `make help` lists the targets.

K8S_VERSION  ?= 1.37.2
ETCD_VERSION ?= 3.6.16
IMG          ?= ghcr.io/walletop/wallet-operator:latest
GO           ?= go
CONTROLLER_GEN ?= $(GO) tool controller-gen
MODULE       := github.com/walletop/wallet-operator

export K8S_VERSION ETCD_VERSION

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-16s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate CRDs (and RBAC from controller markers) into config/.
	$(CONTROLLER_GEN) crd paths=./api/v1alpha1/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=wallet-operator-manager paths=./controllers/... output:rbac:dir=config/rbac

.PHONY: generate
generate: ## Generate deepcopy code, the time zone names and the reports API's OpenAPI definitions.
	$(GO) run ./hack/gen-timezones
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(GO) tool openapi-gen --output-dir api/reports/openapi --output-pkg $(MODULE)/api/reports/openapi \
	  --output-file zz_generated.openapi.go --output-model-name-file zz_generated.model_name.go \
	  --readonly-pkg k8s.io/apimachinery/pkg/apis/meta/v1 --readonly-pkg k8s.io/apimachinery/pkg/runtime \
	  --readonly-pkg k8s.io/apimachinery/pkg/version --go-header-file hack/boilerplate.go.txt \
	  --report-filename api/reports/openapi/violations.report \
	  k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/version \
	  $(MODULE)/api/reports/v1alpha1 $(MODULE)/api/v1alpha1

.PHONY: fmt
fmt: ## go fmt.
	$(GO) fmt ./...

.PHONY: vet
vet: ## go vet.
	$(GO) vet ./...

.PHONY: fmtcheck
fmtcheck: ## Fail if a Go file is not gofmt-formatted.
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "not gofmt-formatted (run make fmt):"; echo "$$out"; exit 1; fi

.PHONY: controlplane
controlplane: ## Build kube-apiserver and etcd from the Go module proxy into bin/k8s/ (once).
	@hack/build-controlplane.sh >/dev/null

.PHONY: promtool
promtool: ## Build promtool from the Go module proxy into bin/tools/ (once), for the alert-rule tests.
	@hack/build-promtool.sh >/dev/null

.PHONY: test
test: controlplane promtool vet fmtcheck ## Run every test: unit, generated-file checks, envtest suites, alert rules (promtool).
	KUBEBUILDER_ASSETS="$$(hack/build-controlplane.sh 2>/dev/null | tail -n1)" \
	  $(GO) test ./... -count=1 -timeout 40m

.PHONY: fuzz
fuzz: controlplane ## Fuzz admission against the operator's parser for FUZZTIME (default 60s).
	cd test/admission && KUBEBUILDER_ASSETS="$$(../../hack/build-controlplane.sh 2>/dev/null | tail -n1)" \
	  $(GO) test -run '^$$' -fuzz FuzzAdmission -fuzztime $${FUZZTIME:-60s} -parallel 1 .

##@ Benchmarks (docs/benchmarks.md; minutes each, on a quiet machine; RUNS=3)

.PHONY: bench bench-ledger bench-controllers bench-reports
bench: controlplane ## Every benchmark below, one after the other.
	hack/bench.sh all

bench-ledger: ## ledger-load on SQLite and PostgreSQL, the 1M-entry report, go test -bench; pg_test_fsync as the reference.
	hack/bench.sh ledger

bench-controllers: controlplane ## controller-load: 10,000 WalletTransactions through a local control plane; the raw write rate as the reference.
	KUBEBUILDER_ASSETS="$$(hack/build-controlplane.sh 2>/dev/null | tail -n1)" hack/bench.sh controllers

bench-reports: controlplane ## reports-load: balances, the 366-day report, CSV and usage through the kube-apiserver.
	KUBEBUILDER_ASSETS="$$(hack/build-controlplane.sh 2>/dev/null | tail -n1)" hack/bench.sh reports

##@ Build and run

.PHONY: build
build: ## Build the operator binary into bin/wallet-operator.
	CGO_ENABLED=0 $(GO) build -o bin/wallet-operator .

.PHONY: plugin
plugin: ## Build the kubectl wallet plugin into bin/kubectl-wallet (put bin/ on PATH, or go install it).
	CGO_ENABLED=0 $(GO) build -o bin/kubectl-wallet ./internal/kubectlwallet/kubectl-wallet

.PHONY: run
run: controlplane build ## Start a local control plane, install CRDs and RBAC, run the operator, apply the samples.
	$(GO) build -o bin/run-local ./hack/run-local
	KUBEBUILDER_ASSETS="$$(hack/build-controlplane.sh 2>/dev/null | tail -n1)" bin/run-local

.PHONY: docker-build
docker-build: ## Build the image from this tree with nothing to pull (FROM scratch; needs a Docker engine).
	@echo "[image] building the static binary"
	rm -rf bin/image && mkdir -p bin/image/rootfs/tmp bin/image/rootfs/etc/ssl/certs
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags="-s -w" -o bin/image/rootfs/wallet-operator .
	chmod 1777 bin/image/rootfs/tmp
	cp /etc/ssl/certs/ca-certificates.crt bin/image/rootfs/etc/ssl/certs/ 2>/dev/null || \
	  { echo "[image] /etc/ssl/certs/ca-certificates.crt missing: apt-get install ca-certificates"; exit 1; }
	cp hack/image/Dockerfile bin/image/Dockerfile
	@echo "[image] docker build -t $(IMG)"
	docker build -t $(IMG) bin/image

.PHONY: docker-build-multistage
docker-build-multistage: ## Build the image with the multi-stage Dockerfile (pulls golang and distroless: needs a registry).
	docker build -t $(IMG) .

##@ Deployment

.PHONY: install
install: ## Install the CRDs into the cluster of the current kubeconfig.
	kubectl apply --server-side -k config/crd

.PHONY: uninstall
uninstall: ## Remove the CRDs (and with them every Wallet and WalletTransaction object).
	kubectl delete -k config/crd

.PHONY: deploy
deploy: ## Deploy the operator (config/default) to the cluster of the current kubeconfig.
	kubectl kustomize config/default | sed 's|image: ghcr.io/walletop/wallet-operator:latest|image: $(IMG)|' | kubectl apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove the operator (config/default) from the cluster.
	kubectl kustomize config/default | kubectl delete --ignore-not-found -f -

.PHONY: kind-cluster
kind-cluster: ## Build kind and its node image here (nothing pulled) and create or reuse the cluster; kubeconfig in bin/kind/kubeconfig.
	hack/kind/cluster.sh >/dev/null

.PHONY: kind-delete
kind-delete: ## Delete the kind cluster.
	"$$(hack/kind/build-node-tools.sh 2>/dev/null | tail -n1)/kind" delete cluster --name $${KIND_CLUSTER:-wallet-operator}

.PHONY: test-e2e-kind
test-e2e-kind: ## Deploy config/default to the kind cluster (made if missing) and run test/e2e there (KIND_DELETE=true deletes it after).
	hack/kind/e2e.sh
