package httpdoor

import (
	"crypto/tls"
	"net/http"
	"net/netip"
	"testing"
)

func TestForwardedClient_TakesTheEntryTrustedHopsFromTheEnd(t *testing.T) {
	proxy := netip.MustParseAddr("10.1.1.1")
	for _, tc := range []struct {
		name    string
		trusted bool
		hops    int
		xff     []string
		header  map[string]string
		tls     bool
		want    string
		host    string
		scheme  string
	}{
		{name: "UntrustedPeerIsTheClient", trusted: false, hops: 1, xff: []string{"203.0.113.9"},
			header: map[string]string{"X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "https"}, want: "10.1.1.1", host: "app.test"},
		{name: "LastEntryOfTheOneTrustedProxy", trusted: true, hops: 1, xff: []string{"203.0.113.9"},
			header: map[string]string{"X-Forwarded-Host": "app.example", "X-Forwarded-Proto": "HTTPS"}, want: "203.0.113.9", host: "app.example", scheme: "https"},
		{name: "EntriesBeforeTheTrustedHopsAreNeverRead", trusted: true, hops: 1, xff: []string{"1.2.3.4, 203.0.113.9"}, want: "203.0.113.9", host: "app.test"},
		// The entry in place is taken whatever it holds: a client that
		// sends a proxy's address first does not get to pick the next one.
		{name: "AClientSuppliedTrustedLookingAddressIsNotSkipped", trusted: true, hops: 2, xff: []string{"6.6.6.6, 10.9.9.9, 203.0.113.9"}, want: "10.9.9.9", host: "app.test"},
		{name: "TwoHopsTakeTheSecondFromTheEnd", trusted: true, hops: 2, xff: []string{"6.6.6.6, 198.51.100.7, 10.2.2.2"}, want: "198.51.100.7", host: "app.test"},
		{name: "HopsCountAcrossRepeatedHeaderLines", trusted: true, hops: 2, xff: []string{"6.6.6.6, 198.51.100.7", "10.2.2.2"}, want: "198.51.100.7", host: "app.test"},
		{name: "FewerEntriesThanHopsIsThePeer", trusted: true, hops: 3, xff: []string{"198.51.100.7, 10.2.2.2"}, want: "10.1.1.1", host: "app.test"},
		{name: "NoAddressInPlaceIsThePeer", trusted: true, hops: 1, xff: []string{"203.0.113.9, unknown"}, want: "10.1.1.1", host: "app.test"},
		{name: "IPv6AndMappedForms", trusted: true, hops: 1, xff: []string{"::ffff:203.0.113.9"}, want: "203.0.113.9", host: "app.test"},
		{name: "XRealIPIsNeverRead", trusted: true, hops: 1, header: map[string]string{"X-Real-Ip": "203.0.113.66"}, want: "10.1.1.1", host: "app.test"},
		{name: "TLSConnectionIsHTTPS", trusted: false, hops: 1, tls: true, want: "10.1.1.1", host: "app.test", scheme: "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{Host: "app.test", Header: http.Header{}}
			if tc.xff != nil {
				r.Header["X-Forwarded-For"] = tc.xff
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			f := forwardedClient(r, proxy, tc.trusted, tc.hops)
			if f.addr.String() != tc.want || f.host != tc.host || f.scheme != tc.scheme {
				t.Fatalf("client %s host %s scheme %q, want %s %s %q", f.addr, f.host, f.scheme, tc.want, tc.host, tc.scheme)
			}
		})
	}
}
