// Package envoygrpc is the Envoy gRPC door: envoy.service.auth.v3.Authorization
// (the ext_authz filter's gRPC mode). It turns a CheckRequest into one
// authz.Request, asks the engine in use, and turns the Decision back into a
// CheckResponse. It decides nothing itself.
package envoygrpc
