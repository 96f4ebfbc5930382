package httpdoor

import (
	"net/http"
	"net/netip"
	"strings"
)

// forwarded is what the HTTP doors know of the client's side of a request:
// its address, the host it was sent to, and its scheme ("" when unknown).
type forwarded struct {
	addr   netip.Addr
	host   string
	scheme string
}

// forwardedClient returns the client's address, the request's host and its
// scheme, as the HTTP doors know them: the TCP peer, the Host header and the
// connection's own scheme, unless the peer is a trusted proxy, whose
// X-Forwarded-For, X-Forwarded-Host and X-Forwarded-Proto are believed
// instead. X-Real-IP is never read: a proxy that does not set it passes the
// client's own copy.
//
// The client's address is the X-Forwarded-For entry hops places from the
// end (Envoy's xff_num_trusted_hops model): each proxy in front appends the
// address it got the request from, so the last hops entries are the ones
// the trusted proxies wrote, and everything before them is whatever the
// client chose to send. Which addresses those entries hold does not matter:
// skipping entries that look like proxies would let a client that sends
// such an address choose the next one. With fewer entries than hops, or no
// IP address in that place, the peer counts as the client.
func forwardedClient(r *http.Request, peer netip.Addr, trusted bool, hops int) forwarded {
	f := forwarded{addr: peer, host: r.Host}
	if r.TLS != nil {
		f.scheme = "https"
	}
	if !trusted {
		return f
	}
	if fh := firstValue(r.Header, "X-Forwarded-Host"); fh != "" {
		f.host = lastListItem(fh)
	}
	if fp := firstValue(r.Header, "X-Forwarded-Proto"); fp != "" {
		f.scheme = strings.ToLower(lastListItem(fp))
	}
	f.addr = forwardedAddr(r, peer, hops)
	return f
}

// forwardedAddr is forwardedClient's address alone, for a trusted peer.
func forwardedAddr(r *http.Request, peer netip.Addr, hops int) netip.Addr {
	if item, ok := listItemFromEnd(r.Header["X-Forwarded-For"], hops); ok {
		if a, err := netip.ParseAddr(item); err == nil {
			return a.Unmap().WithZone("")
		}
	}
	return peer
}

// listItemFromEnd returns the n-th item (1 is the last) of a list header
// that may come in several lines, without its spaces.
func listItemFromEnd(lines []string, n int) (string, bool) {
	if n < 1 {
		return "", false
	}
	for i := len(lines) - 1; i >= 0; i-- {
		v := lines[i]
		for {
			cut := strings.LastIndexByte(v, ',')
			if n--; n == 0 {
				return strings.TrimSpace(v[cut+1:]), true
			}
			if cut < 0 {
				break
			}
			v = v[:cut]
		}
	}
	return "", false
}

// lastListItem returns the last item of a comma-separated header value,
// without its spaces.
func lastListItem(v string) string {
	item, _ := listItemFromEnd([]string{v}, 1)
	return item
}
