package httpdoor

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestForwardedClient_BelievesOnlyTrustedProxies(t *testing.T) {
	peers := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	proxy := netip.MustParseAddr("10.1.1.1")
	for _, tc := range []struct {
		name    string
		trusted bool
		xff     []string
		realIP  string
		fwdHost string
		want    string
		host    string
	}{
		{name: "UntrustedPeerIsTheClient", trusted: false, xff: []string{"203.0.113.9"}, fwdHost: "evil.test", want: "10.1.1.1", host: "app.test"},
		{name: "LastEntryOfATrustedProxy", trusted: true, xff: []string{"203.0.113.9"}, fwdHost: "app.example", want: "203.0.113.9", host: "app.example"},
		{name: "EntriesBeforeTheProxysAreTheClientsClaim", trusted: true, xff: []string{"1.2.3.4, 203.0.113.9"}, want: "203.0.113.9", host: "app.test"},
		{name: "ChainOfTrustedProxiesIsSkipped", trusted: true, xff: []string{"203.0.113.9, 10.2.2.2", "127.0.0.1"}, want: "203.0.113.9", host: "app.test"},
		{name: "GarbageStopsTheWalk", trusted: true, xff: []string{"203.0.113.9, unknown"}, want: "10.1.1.1", host: "app.test"},
		{name: "IPv6AndMappedForms", trusted: true, xff: []string{"::ffff:203.0.113.9"}, want: "203.0.113.9", host: "app.test"},
		{name: "RealIPWhenNoForwardedFor", trusted: true, realIP: " 2001:db8::1 ", want: "2001:db8::1", host: "app.test"},
		{name: "OnlyTrustedEntriesFallBackToThePeer", trusted: true, xff: []string{"127.0.0.1"}, want: "10.1.1.1", host: "app.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{Host: "app.test", Header: http.Header{}}
			r.Header["X-Forwarded-For"] = tc.xff
			if tc.realIP != "" {
				r.Header.Set("X-Real-IP", tc.realIP)
			}
			if tc.fwdHost != "" {
				r.Header.Set("X-Forwarded-Host", tc.fwdHost)
			}
			a, host := forwardedClient(r, proxy, tc.trusted, peers)
			if a.String() != tc.want || host != tc.host {
				t.Fatalf("client %s host %s, want %s %s", a, host, tc.want, tc.host)
			}
		})
	}
}
