package authz

import (
	"net/netip"
	"testing"
	"time"
)

func TestRateLimiter_IPv6CountsPerSlash64(t *testing.T) {
	l := newRateLimiter(&RateLimit{PerMinute: 1, Burst: 1}, 100)
	now := time.Now()
	a := netip.MustParseAddr("2001:db8:1:2::1")
	b := netip.MustParseAddr("2001:db8:1:2:ffff::9")
	other := netip.MustParseAddr("2001:db8:1:3::1")
	if _, ok := l.take(l.addressKey(a), now); !ok {
		t.Fatal("first request refused")
	}
	if _, ok := l.take(l.addressKey(b), now); ok {
		t.Fatal("another address of the same /64 has a budget of its own")
	}
	if _, ok := l.take(l.addressKey(other), now); !ok {
		t.Fatal("another /64 shares the budget")
	}
	v4a, v4b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	l.take(l.addressKey(v4a), now)
	if _, ok := l.take(l.addressKey(v4b), now); !ok {
		t.Fatal("IPv4 addresses share a budget")
	}
	wait, spent := l.spent(l.addressKey(v4a), now)
	if !spent || wait <= 0 || wait > time.Minute {
		t.Fatalf("spent = %v, wait %v", spent, wait)
	}
}

func TestEndpointOf_NamesNeverHoldTheRoomID(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         string
	}{
		{"POST", "/v2/identify-user", "identify_user"},
		{"POST", "/v2/authorize-user", "authorize_user"},
		{"POST", "/v2/rooms", "create_room"},
		{"GET", "/v2/rooms", "list_rooms"},
		{"GET", "/v2/rooms/secret-room", "get_room"},
		{"POST", "/v2/rooms/secret-room", "update_room"},
		{"DELETE", "/v2/rooms/secret-room", "delete_room"},
		{"POST", "/v2/rooms/secret-room/upsert", "upsert_room"},
		{"GET", "/v2/rooms/secret-room/storage", "other"},
		{"GET", "/v2/rooms/", "other"},
		{"GET", "/v3/anything", "other"},
	} {
		if got := endpointNames[endpointOf(tc.method, tc.path)]; got != tc.want {
			t.Errorf("%s %s = %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestSameOrigin_ComparesSchemeHostAndPort(t *testing.T) {
	for _, tc := range []struct {
		origin, host, scheme string
		want                 bool
	}{
		{"https://app.test", "app.test", "", true},
		{"https://app.test", "APP.test:443", "https", true},
		{"http://app.test", "app.test:80", "", true},
		{"http://localhost:3000", "localhost:3000", "http", true},
		{"http://localhost:3000", "localhost:3001", "", false},
		{"https://app.test", "app.test:8443", "", false},
		{"https://app.test.evil", "app.test", "", false},
		{"null", "app.test", "", false},
		{"https://app.test", "", "", false},
		// Only a web page's schemes, compared with the request's when the
		// door knows it.
		{"ftp://localhost:3000", "localhost:3000", "", false},
		{"FTP://localhost:3000", "localhost:3000", "http", false},
		{"file://app.test", "app.test", "", false},
		{"chrome-extension://app.test", "app.test", "", false},
		{"http://app.test", "app.test", "https", false},
		{"HTTPS://app.test", "app.test", "HTTPS", true},
		// TLS ended at a proxy before the door: the page is https.
		{"https://app.test", "app.test", "http", true},
	} {
		if got := sameOrigin(tc.origin, tc.host, tc.scheme); got != tc.want {
			t.Errorf("sameOrigin(%q, %q, %q) = %v", tc.origin, tc.host, tc.scheme, got)
		}
	}
}
