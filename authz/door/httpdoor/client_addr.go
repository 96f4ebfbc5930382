package httpdoor

import (
	"net/http"
	"net/netip"
	"strings"
)

// forwardedClient returns the client's address and the request's host, as
// the HTTP doors know them: the TCP peer and the Host header, unless the
// peer is a trusted proxy, whose X-Forwarded-For (or X-Real-IP) and
// X-Forwarded-Host are believed instead.
//
// In X-Forwarded-For the client is the last address that is not itself a
// trusted proxy: each proxy appends the address it got the request from, so
// the addresses before the first untrusted one, counted from the end, are
// whatever the client chose to send.
func forwardedClient(r *http.Request, peer netip.Addr, trusted bool, peers []netip.Prefix) (netip.Addr, string) {
	host := r.Host
	if !trusted {
		return peer, host
	}
	if fh := firstValue(r.Header, "X-Forwarded-Host"); fh != "" {
		host = lastListItem(fh)
	}
	xff := r.Header["X-Forwarded-For"]
	for i := len(xff) - 1; i >= 0; i-- {
		v := xff[i]
		for v != "" {
			item := lastListItem(v)
			if cut := strings.LastIndexByte(v, ','); cut >= 0 {
				v = v[:cut]
			} else {
				v = ""
			}
			a, err := netip.ParseAddr(item)
			if err != nil {
				// Not an address (a port, "unknown", garbage): what comes
				// before it cannot be told apart from a client's claim.
				return peer, host
			}
			a = a.Unmap().WithZone("")
			if !containsAddr(peers, a) {
				return a, host
			}
		}
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(firstValue(r.Header, "X-Real-Ip"))); err == nil {
		return a.Unmap().WithZone(""), host
	}
	return peer, host
}

// lastListItem returns the last item of a comma-separated header value,
// without its spaces.
func lastListItem(v string) string {
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}
