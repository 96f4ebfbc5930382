// Command floor is the baseline of the benchmark: an authorization server
// that does nothing. Its gRPC door (Envoy ext_authz) allows every Check with
// one identity header, answered from a response built once; its HTTP door
// (nginx auth_request) answers every request 200 with the same header. No
// cookie is read and no session is looked up, so what it costs is what any
// ext_authz server written with the same gRPC and HTTP libraries costs: the
// floor the sidecar's figures are divided by.
//
// Its HTTP listener has the timeouts lbauthz serve sets by default
// (listen.http_timeouts), as any HTTP server reachable by clients needs: one
// without them is held forever by a client trickling its headers. net/http
// sets the connection's deadlines anew for each request when they are set,
// which costs CPU per request, so a floor without them would be cheaper than
// any server fit to deploy.
//
// With -app, the HTTP listener is instead the app behind nginx in the
// benchmark: every path answers 200 with the X-User-Id it was sent as the
// body, so the benchmark can see which identity nginx passed on.
//
// Usage:
//
//	floor [-grpc ADDR] [-http ADDR [-app]]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/reflection"
)

// The defaults of lbauthz's listen.http_timeouts (authz/config/defaults.go),
// written out: the floor links none of lbauthz's packages, whose code would
// weigh on its idle memory.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 20 * time.Second
	idleTimeout       = 120 * time.Second
)

type floor struct {
	authv3.UnimplementedAuthorizationServer
	ok *authv3.CheckResponse
}

func (f *floor) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return f.ok, nil
}

func main() {
	grpcAddr := flag.String("grpc", "", "address of the gRPC ext_authz door")
	httpAddr := flag.String("http", "", "address of the HTTP check door (every path answers 200)")
	app := flag.Bool("app", false, "serve the app on -http instead: 200 with the X-User-Id received as the body")
	flag.Parse()
	if *grpcAddr == "" && *httpAddr == "" {
		fmt.Fprintln(os.Stderr, "floor: give -grpc ADDR, -http ADDR or both")
		os.Exit(2)
	}
	errc := make(chan error, 2)
	if *grpcAddr != "" {
		lis, err := net.Listen("tcp", *grpcAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		srv := grpc.NewServer()
		authv3.RegisterAuthorizationServer(srv, &floor{ok: &authv3.CheckResponse{
			Status: &rpcstatus.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
				Headers: []*corev3.HeaderValueOption{{
					Header:       &corev3.HeaderValue{Key: "x-user-id", Value: "floor"},
					AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
				}},
			}},
		}})
		// ghz reads the service's schema by reflection, as from the sidecar.
		reflection.Register(srv)
		go func() { errc <- srv.Serve(lis) }()
	}
	if *httpAddr != "" {
		lis, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		userID := []string{"floor"}
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header()["X-User-Id"] = userID
			w.WriteHeader(http.StatusOK)
		})
		if *app {
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, r.Header.Get("X-User-Id"))
			})
		}
		srv := &http.Server{Handler: h,
			ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
			WriteTimeout: writeTimeout, IdleTimeout: idleTimeout}
		go func() { errc <- srv.Serve(lis) }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}
