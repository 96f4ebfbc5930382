// Package deploy holds what an operator copies to put lbauthz in front of an
// app: Envoy (gRPC and HTTP ext_authz), nginx auth_request, Caddy
// forward_auth, Traefik forwardAuth, Kubernetes, Istio and Envoy Gateway
// configs. See README.md in this folder.
//
// The package has no Go API. Its tests decode every config strictly into the
// real program's own types where those exist in Go (go-control-plane for
// Envoy, k8s.io/api, istio.io/api, Gateway API), run the real program where
// it is installed (nginx, Caddy), and assert the points that make the configs
// safe: fail closed, identity headers stripped before the check, the request
// body buffered only on the token route.
package deploy
