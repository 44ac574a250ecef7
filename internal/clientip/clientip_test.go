package clientip

import (
	"net/http"
	"strings"
	"testing"
)

func TestAddr(t *testing.T) {
	trusted, err := ParsePrefixes("10.0.0.0/8, 127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	r := New(trusted)
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
		noTrust    string
	}{
		{"direct client", "203.0.113.7:5000", nil, "203.0.113.7", "203.0.113.7"},
		{"direct client forging the header", "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7", "203.0.113.7"},
		{"one trusted proxy", "10.0.0.2:443", []string{"198.51.100.1"}, "198.51.100.1", "10.0.0.2"},
		{"client's forged entry left of the real one", "10.0.0.2:443", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1", "10.0.0.2"},
		{"two trusted proxies", "127.0.0.1:1", []string{"198.51.100.1, 10.1.2.3"}, "198.51.100.1", "127.0.0.1"},
		{"header split over lines", "10.0.0.2:443", []string{"198.51.100.1", "10.9.9.9"}, "198.51.100.1", "10.0.0.2"},
		{"only proxies", "10.0.0.2:443", []string{"10.0.0.1"}, "10.0.0.1", "10.0.0.2"},
		{"garbage stops the walk", "10.0.0.2:443", []string{"198.51.100.1, not-an-ip"}, "10.0.0.2", "10.0.0.2"},
		{"no header from a proxy", "10.0.0.2:443", nil, "10.0.0.2", "10.0.0.2"},
		{"IPv6 proxy and client with port", "[::1]:8080", []string{"[2001:db8::5]:1234"}, "2001:db8::5", "::1"},
		{"IPv4-mapped proxy", "[::ffff:10.0.0.2]:443", []string{"198.51.100.1"}, "198.51.100.1", "::ffff:10.0.0.2"},
	} {
		req, _ := http.NewRequest("GET", "/", nil)
		req.RemoteAddr = c.peer
		for _, h := range c.xff {
			req.Header.Add("X-Forwarded-For", h)
		}
		if got := r.Addr(req); got != c.want {
			t.Errorf("%s: Addr = %q, want %q", c.name, got, c.want)
		}
		if got := (&Resolver{}).Addr(req); got != c.noTrust {
			t.Errorf("%s, no trusted proxy: Addr = %q, want the peer %q", c.name, got, c.noTrust)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	if p, err := ParsePrefixes(""); err != nil || len(p) != 0 {
		t.Errorf(`"" = %v, %v; want none`, p, err)
	}
	p, err := ParsePrefixes("10.1.2.3/8,192.168.0.1, 2001:db8::/32")
	if err != nil || len(p) != 3 || p[0].String() != "10.0.0.0/8" || p[1].String() != "192.168.0.1/32" {
		t.Errorf("prefixes = %v, %v", p, err)
	}
	if _, err := ParsePrefixes("10.0.0.0/8, proxy.internal"); err == nil || !strings.Contains(err.Error(), "proxy.internal") {
		t.Errorf("a host name: %v, want an error naming it", err)
	}
}
