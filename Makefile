# lbauthz: Liveblocks authentication in front of an unchanged app.
#
#   make run     the demo in a browser: a legacy app behind nginx, the sidecar, the Liveblocks dev server
#   make test    installs what the tests need, then runs them all
#   make test-unit  the fast tests only: no real part started (go test -short)
#   make lint    golangci-lint, pinned in the deps manifest, with .golangci.yml
#   make soak    the soak and fault test, long version (a few minutes)
#   make bench   the side-by-side benchmark (bench/results/latest.md, latest.json)
#   make bench-go  Go benchmarks of the hot path
#   make proto   regenerates the Go code of proto/
#   make test-fresh  make test in a clean Debian root, as on a new machine (docs/fresh-machine.md)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
GOBIN := $(shell $(GO) env GOPATH)/bin
export PATH := $(CURDIR)/node_modules/.bin:$(GOBIN):$(PATH)
# playwright-core drives Debian's chromium: never let a package fetch a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

# What the tests and make proto use, and the package that provides each:
# `make deps` installs its apt: and go: providers, `make check-deps` checks
# every line. A new requirement is one line there.
DEPS_MANIFEST := internal/tools/depcheck/manifest.txt
# Debian packages the tests run for real: the manifest's apt: providers.
APT_PACKAGES := $(shell awk '$$1 ~ /^(program|file|proto-include)$$/ && $$3 ~ /^apt:/ {print substr($$3, 5)}' $(DEPS_MANIFEST) | sort -u)
# Go programs the tests run, NAME=MODULE@VERSION: the manifest's go: providers.
GO_TOOLS := $(shell awk '$$1 ~ /^(program|file|proto-include)$$/ && $$3 ~ /^go:/ {print $$2 "=" substr($$3, 4)}' $(DEPS_MANIFEST) | sort -u)
# Other engineers may hold the dpkg lock: wait for it instead of failing.
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# fail a target with a bare "context deadline exceeded" as the time runs out
# (golang/go#75804, fixed in Go 1.27), a failure with no input behind it.
FUZZTIME ?= 30000x

.PHONY: all build run test test-unit test-go test-e2e test-fuzz soak vet lint deps-lint bench bench-go deps-bench proto deps deps-npm deps-apt deps-go deps-k8s image check-deps test-fresh test-fresh-guard clean

# The version a build reports (`lbauthz version`, lbauthz_build_info).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
VERSION_LDFLAGS := -X github.com/lbauthz/lbauthz/internal/buildinfo.version=$(VERSION)
# How the binaries are built, here as in `make image` and the Dockerfile: static, without file
# paths or symbol tables, and without gRPC's golang.org/x/net/trace (tag grpcnotrace), whose
# html/template makes the linker keep every exported method of every type: a third of the binary,
# and of its resident memory. TestBuild_* (cmd/lbauthz) checks both places.
GO_BUILD := CGO_ENABLED=0 $(GO) build -trimpath -tags grpcnotrace
GO_LDFLAGS := -s -w $(VERSION_LDFLAGS)


all: build

build:
	$(GO_BUILD) -ldflags "$(GO_LDFLAGS)" -o bin/lbauthz ./cmd/lbauthz
	$(GO_BUILD) -ldflags "$(GO_LDFLAGS)" -o bin/lbauthz-injector ./cmd/lbauthz-injector

## deps: everything the tests and the demo need, installed when missing.
deps: deps-npm deps-apt deps-go deps-k8s

deps-npm: node_modules/.lbauthz-installed
node_modules/.lbauthz-installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The Debian packages of APT_PACKAGES whose program or file is missing
# (depcheck -list apt -missing): a program already there is not installed
# again, whatever package put it there (some machines carry kubectl from
# another package, over which Debian's kubernetes-client will not install).
# The package lists are fetched first when there are none (a new machine),
# and again when an install from old lists fails.
# `make deps-apt APT_PACKAGES="..."` (the bench's and the e2e's own lists)
# installs those of the packages named that dpkg does not have installed.
ifeq ($(origin APT_PACKAGES),command line)
APT_MISSING = for p in $(APT_PACKAGES); do \
  [ "$$(dpkg-query -W -f='$${Status}' $$p 2>/dev/null)" = "install ok installed" ] || echo $$p; done
else
APT_MISSING = $(GO) run ./internal/tools/depcheck -manifest $(DEPS_MANIFEST) -list apt -missing
endif
deps-apt:
	@missing=$$($(APT_MISSING) | tr '\n' ' '); \
	missing=$${missing% }; [ -z "$$missing" ] || missing=" $$missing"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "Please install:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	  echo "Installing Debian packages:$$missing"; \
	  if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then $(APT_GET) update -qq; fi; \
	  if ! $(APT_GET) install -y -qq --no-install-recommends $$missing >/dev/null; then \
	    $(APT_GET) update -qq; \
	    $(APT_GET) install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi; \
	fi

# Each Go program of GO_TOOLS, installed when missing or of another version.
deps-go:
	@for t in $(GO_TOOLS); do name=$${t%%=*}; pkg=$${t#*=}; \
	  have=$$($(GO) version -m "$(GOBIN)/$$name" 2>/dev/null | awk '$$1 == "mod" {print $$3}' || true); \
	  if [ "$$have" != "$${pkg##*@}" ]; then echo "go install $$pkg"; $(GO) install "$$pkg"; fi; \
	done
	$(GO) mod download

## check-deps: every program and file of DEPS_MANIFEST is there, or the run
## stops at once naming the package that provides what is missing.
check-deps:
	$(GO) run ./internal/tools/depcheck -manifest $(DEPS_MANIFEST)

## run: the demo on loopback (deploy/demo/run.sh): nginx, the demo app, the sidecar, the dev server; Ctrl-C stops them.
run: deps-npm build
	$(GO) build -o bin/lbauthz-demo ./deploy/demo/cmd/lbauthz-demo
	deploy/demo/run.sh

## test: vet, lint, every test against the real parts (a missing part fails the run), then a short fuzz of every parser.
test: deps check-deps vet lint test-go test-e2e test-fuzz

## test-unit: the inner loop: every test that starts no real part (testenv.Start skips under -short).
test-unit:
	$(GO) test -short -count=1 ./...

## lint: golangci-lint with the committed .golangci.yml, at the version the
## manifest pins (go:github.com/golangci/golangci-lint/v2/...@VERSION).
lint: deps-lint
	golangci-lint run ./...

deps-lint:
	@$(MAKE) --no-print-directory deps-go GO_TOOLS="$(filter golangci-lint=%,$(GO_TOOLS))"

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-go:
	LBAUTHZ_TEST_STRICT=1 $(GO) test -race -count=1 -timeout 25m $$($(GO) list ./... | grep -v '/deploy/demo$$')

## test-e2e: the demo driven in Chromium (deploy/demo/demo_test.go); screenshots under test-output/demo/_artifacts/.
test-e2e: deps-npm
	@$(MAKE) --no-print-directory deps-apt APT_PACKAGES="nginx chromium curl"
	rm -rf test-output/demo && mkdir -p test-output/demo
	LBAUTHZ_TEST_STRICT=1 $(GO) test -count=1 -timeout 5m -v -artifacts -outputdir $(CURDIR)/test-output/demo ./deploy/demo/

## soak: the soak and fault test of internal/soak at full length (a few
## minutes; `make test` runs a 40 s version): steady traffic through nginx
## and the gRPC door while Liveblocks, Redis and PostgreSQL are killed and
## restarted and the config is reloaded, then SIGTERM under load. Prints the
## answers per phase; LBAUTHZ_SOAK_REPORT=FILE also writes them to FILE.
soak: deps
	LBAUTHZ_TEST_STRICT=1 LBAUTHZ_SOAK=long $(GO) test -count=1 -v -run '^TestSoak' -timeout 20m ./internal/soak/

# Every fuzz target of the repository (each `func FuzzXxx` of a _test.go
# file, found anew at each run, so none is forgotten) runs FUZZTIME inputs on
# top of its seed corpus in testdata/fuzz/<target>/.
FUZZ_TARGETS = $(shell grep -rHoE --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git \
	'^func Fuzz[A-Za-z0-9_]+' . | sed -E 's|^(.*)/[^/]*:func (Fuzz[A-Za-z0-9_]+)$$|\1:\2|' | sort)
test-fuzz:
	@test -n "$(FUZZ_TARGETS)" || { echo "no fuzz target found"; exit 1; }
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$name ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg >/tmp/lbauthz-fuzz.log 2>&1 || { cat /tmp/lbauthz-fuzz.log; exit 1; }; \
	done

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./authz/... ./liveblocks/

## bench: the sidecar, a floor ext_authz server and the Express reference on
## loopback, side by side; see bench/cmd/benchrun. About 7 minutes.
GHZ_VERSION := v0.120.0
bench: build deps-npm deps-bench
	$(GO_BUILD) -ldflags "-s -w" -o bin/floor ./bench/cmd/floor
	$(GO) build -o bin/benchrun ./bench/cmd/benchrun
	bin/benchrun -out bench/results

deps-bench: $(GOBIN)/ghz bench/express/node_modules/.lbauthz-installed
	@$(MAKE) --no-print-directory deps-apt APT_PACKAGES="wrk nghttp2-client nginx-light redis-server"

$(GOBIN)/ghz:
	$(GO) install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)

bench/express/node_modules/.lbauthz-installed: bench/express/package.json bench/express/package-lock.json
	cd bench/express && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## proto: regenerate the committed Go code of proto/ (protoc from Debian's protobuf-compiler, the
## well-known types from libprotobuf-dev, found wherever the installed protoc keeps them).
proto:
	@$(MAKE) --no-print-directory deps-go GO_TOOLS="$(filter protoc-gen-go=%,$(GO_TOOLS))"
	inc=$$($(GO) run ./internal/tools/depcheck -protoc-include); \
	cd proto && protoc -I . -I "$$inc" --go_out=. --go_opt=module=github.com/lbauthz/lbauthz/proto \
		$$(find . -name '*.proto' | sed 's|^\./||' | sort)

## test-fresh: `make test` in a clean Debian bookworm root made by debootstrap, with only what a new
## machine has (docs/fresh-machine.md). test-fresh-guard: in that root, removing any one Debian
## package of APT_PACKAGES makes check-deps fail naming it.
test-fresh:
	internal/tools/freshroot/freshroot.sh test
test-fresh-guard:
	internal/tools/freshroot/freshroot.sh guard

clean:
	rm -rf bin

## deps-k8s: what the Kubernetes tests run: kube-apiserver and etcd built from
## the versions internal/k8sbuild/go.mod pins (helm and kubectl are GO_TOOLS and APT_PACKAGES). Built once per
## version under $(GOBIN) (about 10 minutes each the first time; the Go build cache keeps the rest).
K8S_BUILD := internal/k8sbuild
KUBERNETES_VERSION := $(shell awk '$$1=="k8s.io/kubernetes"{print $$2}' $(K8S_BUILD)/go.mod)
ETCD_VERSION := $(shell awk '$$1=="go.etcd.io/etcd/server/v3"{print $$2}' $(K8S_BUILD)/go.mod)
KUBE_VERSION_PKG := k8s.io/component-base/version
deps-k8s: $(GOBIN)/kube-apiserver-$(KUBERNETES_VERSION) $(GOBIN)/etcd-$(ETCD_VERSION)

$(GOBIN)/kube-apiserver-$(KUBERNETES_VERSION):
	cd $(K8S_BUILD) && $(GO) build -trimpath -o $@.tmp -ldflags "-s -w \
	  -X $(KUBE_VERSION_PKG).gitMajor=$$(echo $(KUBERNETES_VERSION) | cut -d. -f1 | tr -d v) \
	  -X $(KUBE_VERSION_PKG).gitMinor=$$(echo $(KUBERNETES_VERSION) | cut -d. -f2) \
	  -X $(KUBE_VERSION_PKG).gitVersion=$(KUBERNETES_VERSION) -X $(KUBE_VERSION_PKG).gitTreeState=clean" \
	  k8s.io/kubernetes/cmd/kube-apiserver
	mv $@.tmp $@

$(GOBIN)/etcd-$(ETCD_VERSION):
	cd $(K8S_BUILD) && $(GO) build -trimpath -o $@.tmp -ldflags "-s -w" go.etcd.io/etcd/server/v3
	mv $@.tmp $@

## image: the container image as an OCI archive, bin/lbauthz-$(VERSION).oci.tar,
## built without a daemon or registry (cmd/ociimage: the Dockerfile's last stage).
## Load it with `podman load -i` or `skopeo copy oci-archive:... docker://...`.
image:
	GOOS=linux GOARCH=amd64 $(GO_BUILD) -ldflags "$(GO_LDFLAGS)" -o bin/lbauthz-linux-amd64 ./cmd/lbauthz
	GOOS=linux GOARCH=amd64 $(GO_BUILD) -ldflags "$(GO_LDFLAGS)" -o bin/lbauthz-injector-linux-amd64 ./cmd/lbauthz-injector
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 0) $(GO) run ./cmd/ociimage \
	  -binary bin/lbauthz-linux-amd64 -injector bin/lbauthz-injector-linux-amd64 -version $(VERSION) -revision "$$(git rev-parse HEAD 2>/dev/null)" \
	  -out bin/lbauthz-$(VERSION).oci.tar
	@echo "bin/lbauthz-$(VERSION).oci.tar"
