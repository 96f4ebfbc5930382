# lbauthz: Liveblocks authentication in front of an unchanged app.
#
#   make run     the demo: Liveblocks dev server + sidecar, a token issued
#   make test    installs what the tests need, then runs them all
#   make bench   Go benchmarks of the hot path
#   make proto   regenerates the Go code of proto/
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
GOBIN := $(shell $(GO) env GOPATH)/bin
export PATH := $(CURDIR)/node_modules/.bin:$(GOBIN):$(PATH)

PROTOC_GEN_GO_VERSION := v1.36.12
CADDY_VERSION := v2.11.9
# Debian packages the tests run for real.
APT_PACKAGES := nginx-light redis-server postgresql protobuf-compiler
FUZZTIME ?= 10s

.PHONY: all build run test test-go test-fuzz vet bench proto deps deps-npm deps-apt deps-go fuzz clean

all: build

build:
	$(GO) build -o bin/lbauthz ./cmd/lbauthz

## deps: everything the tests and the demo need, installed when missing.
deps: deps-npm deps-apt deps-go

deps-npm: node_modules/.lbauthz-installed
node_modules/.lbauthz-installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps-apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "Please install:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

deps-go: $(GOBIN)/protoc-gen-go $(GOBIN)/caddy
	$(GO) mod download

$(GOBIN)/protoc-gen-go:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

$(GOBIN)/caddy:
	$(GO) install github.com/caddyserver/caddy/v2/cmd/caddy@$(CADDY_VERSION)

## run: the Liveblocks dev server and the sidecar on loopback; Ctrl-C stops both.
run: deps-npm build
	deploy/demo/run.sh

## test: vet, every test against the real parts (a missing part fails the run), then a short fuzz of every parser.
test: deps vet test-go test-fuzz

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-go:
	LBAUTHZ_TEST_STRICT=1 $(GO) test -race -count=1 -timeout 25m ./...

# Each fuzz target runs for FUZZTIME on top of its corpus in testdata/.
FUZZ_TARGETS := ./authz:FuzzFindCookie ./authz/session:FuzzJWTSession ./authz/config:FuzzParse
test-fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$name ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg >/tmp/lbauthz-fuzz.log 2>&1 || { cat /tmp/lbauthz-fuzz.log; exit 1; }; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./authz/... ./liveblocks/

## proto: regenerate the committed Go code of proto/ (protoc from Debian's protobuf-compiler).
proto: $(GOBIN)/protoc-gen-go
	cd proto && protoc -I . -I /usr/include --go_out=. --go_opt=module=github.com/lbauthz/lbauthz/proto \
		$$(find . -name '*.proto' | sed 's|^\./||' | sort)

clean:
	rm -rf bin
