// Package clientip finds the address of the client behind a request, for the limits kept per
// address (bad tokens on the API, failed sign-ins on the console). Behind a reverse proxy every
// request comes from the proxy: counted by the peer address, one client guessing tokens would
// use up everybody's allowance. The proxy's X-Forwarded-For header says who the client was, but
// anyone can send that header, so it is believed only from proxies the operator names.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver tells a request's client address. The zero value trusts no proxy.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a resolver that believes X-Forwarded-For from peers in trusted.
func New(trusted []netip.Prefix) *Resolver { return &Resolver{trusted: trusted} }

// ParsePrefixes reads a comma-separated list of addresses and CIDR prefixes, such as
// "10.0.0.0/8, 127.0.0.1"; "" is none.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix (e.g. 10.0.0.0/8 or 127.0.0.1)", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Addr returns the client's address: the peer's, unless the peer is a trusted proxy; then the
// X-Forwarded-For entries are read from the right (each proxy appends the address it saw) and
// the first one that is not itself a trusted proxy is the client. A malformed entry ends the
// walk at the hop that added it, so a client cannot pass itself off as someone else.
func (r *Resolver) Addr(req *http.Request) string {
	peer := hostOf(req.RemoteAddr)
	if r == nil || len(r.trusted) == 0 {
		return peer
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil || !r.trust(addr) {
		return peer
	}
	client := addr
	hops := req.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(hostOf(strings.TrimSpace(entries[j])))
			if err != nil {
				return client.String()
			}
			client = a.Unmap()
			if !r.trust(client) {
				return client.String()
			}
		}
	}
	return client.String()
}

func (r *Resolver) trust(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hostOf drops a port ("1.2.3.4:5", "[::1]:5") and IPv6 brackets.
func hostOf(s string) string {
	if host, _, err := net.SplitHostPort(s); err == nil {
		return host
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
}
