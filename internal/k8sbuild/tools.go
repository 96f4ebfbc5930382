//go:build tools

// Package k8sbuild pins the Kubernetes API server and etcd that the
// Kubernetes tests run (see deploy/kubernetes_test.go and `make deps-k8s`).
// Nothing here is compiled into lbauthz: the module only records versions,
// so that `go build k8s.io/kubernetes/cmd/kube-apiserver` and
// `go build go.etcd.io/etcd/server/v3` in this folder build the pinned ones.
package k8sbuild

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
