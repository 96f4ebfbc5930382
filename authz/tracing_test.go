package authz_test

import (
	"context"
	"net"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/envoygrpc"
	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// tracedGRPC serves the gRPC door as lbauthz serve does with tracing on:
// the otelgrpc server handler, and an engine that traces.
func tracedGRPC(t *testing.T, devURL string) (authv3.AuthorizationClient, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	e := authztest.Engine(t, authztest.Config, devURL, testenv.DevSecretKey, assemble.WithTracerProvider(tp))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(authz.Propagator()))))
	authv3.RegisterAuthorizationServer(srv, envoygrpc.NewServer(authz.NewHolder(e)))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return authv3.NewAuthorizationClient(conn), exp
}

const (
	traceID      = "0af7651916cd43dd8448eb211c80319c"
	parentSpanID = "b7ad6b7169203331"
)

func TestTracing_CheckContinuesTheTraceOfTheRequestItChecks(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	for _, tc := range []struct {
		name     string
		headers  map[string]string // the checked request's, as Envoy forwards them
		metadata []string          // the Check call's own gRPC metadata
	}{
		{name: "W3CTraceparentInTheRequestHeaders",
			headers: map[string]string{"traceparent": "00-" + traceID + "-" + parentSpanID + "-01"}},
		{name: "B3SingleHeaderInTheRequestHeaders",
			headers: map[string]string{"b3": traceID + "-" + parentSpanID + "-1"}},
		{name: "B3MultiHeadersInTheRequestHeaders",
			headers: map[string]string{"x-b3-traceid": traceID, "x-b3-spanid": parentSpanID, "x-b3-sampled": "1"}},
		// Envoy's ext_authz client span puts its own context in the call.
		{name: "TraceparentInTheCallMetadata",
			metadata: []string{"traceparent", "00-" + traceID + "-" + parentSpanID + "-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, exp := tracedGRPC(t, dev.URL)
			h := map[string]string{"cookie": "session=" + authztest.Session(authztest.Alice())}
			for k, v := range tc.headers {
				h[k] = v
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if len(tc.metadata) > 0 {
				ctx = metadata.AppendToOutgoingContext(ctx, tc.metadata...)
			}
			resp, err := c.Check(ctx, authztest.CheckRequest("POST", authztest.AuthPath, h, `{"room":"traced"}`))
			if err != nil || resp.GetDeniedResponse().GetStatus().GetCode() != 200 {
				t.Fatalf("token request: %v %v", err, resp)
			}
			spans := map[string]tracetest.SpanStub{}
			for _, s := range exp.GetSpans() {
				spans[s.Name] = s
			}
			decide, ok := spans["lbauthz.decide"]
			if !ok {
				t.Fatalf("no lbauthz.decide span among %v", names(exp.GetSpans()))
			}
			if got := decide.SpanContext.TraceID().String(); got != traceID {
				t.Fatalf("decision span in trace %s, want %s", got, traceID)
			}
			for _, child := range []string{"session.lookup", "liveblocks identify_user"} {
				s, ok := spans[child]
				if !ok {
					t.Fatalf("no %q span among %v", child, names(exp.GetSpans()))
				}
				if s.SpanContext.TraceID().String() != traceID || s.Parent.SpanID() != decide.SpanContext.SpanID() {
					t.Fatalf("%s: trace %s parent %s, want a child of the decision span %s", child,
						s.SpanContext.TraceID(), s.Parent.SpanID(), decide.SpanContext.SpanID())
				}
			}
			if len(tc.headers) > 0 && decide.Parent.SpanID().String() != parentSpanID {
				t.Fatalf("decision span's parent %s, want the request's span %s", decide.Parent.SpanID(), parentSpanID)
			}
			attrs := map[string]string{}
			for _, a := range decide.Attributes {
				attrs[string(a.Key)] = a.Value.String()
			}
			if attrs["lbauthz.outcome"] != "token_issued" || attrs["lbauthz.door"] != "envoy_grpc" {
				t.Fatalf("decision span attributes %v", attrs)
			}
		})
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
