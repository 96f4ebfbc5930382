# lbauthz: an ext_authz / auth_request sidecar that issues Liveblocks tokens.
SHELL := /bin/bash
GO ?= go
GOBIN := $(shell $(GO) env GOPATH)/bin
PROTOC_GEN_GO_VERSION := v1.36.12

.PHONY: all build proto test run deps tools lint fuzz clean

all: build

build:
	$(GO) build -o bin/lbauthz ./cmd/lbauthz

# Regenerates the Go code of proto/ (committed). Needs protoc (Debian's
# protobuf-compiler) and protoc-gen-go at the version of go.mod's protobuf.
proto: $(GOBIN)/protoc-gen-go
	PATH=$(GOBIN):$$PATH protoc -I proto -I /usr/include \
		--go_out=. --go_opt=module=github.com/lbauthz/lbauthz \
		$$(cd proto && find . -name '*.proto' | sed 's|^\./|proto/|' | sed 's|^proto/||')

$(GOBIN)/protoc-gen-go:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
