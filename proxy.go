package main

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/truecost/truecost/domain"
)

// hstsHeader tells browsers to use HTTPS only for a year once they have
// reached Truecost over HTTPS.
const hstsHeader = "max-age=31536000"

// proxies are the reverse proxies (TLS terminators, load balancers) whose
// X-Forwarded-For and X-Forwarded-Proto headers are believed. Anyone else
// could send those headers to pose as another client address or as HTTPS.
type proxies []netip.Prefix

// parseProxies reads TRUECOST_TRUSTED_PROXIES: addresses or CIDR ranges
// separated by commas or spaces, such as "10.0.0.0/8, ::1".
func parseProxies(s string) (proxies, error) {
	var out proxies
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if addr, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, domain.Errorf(domain.Invalid, "TRUECOST_TRUSTED_PROXIES: %q is neither an address nor a CIDR range", f)
		}
		out = append(out, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked())
	}
	return out, nil
}

func (ps proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// handler passes requests to next as the client sent them to the proxy:
// from a trusted proxy, RemoteAddr becomes the client address in
// X-Forwarded-For (the nearest one not itself a trusted proxy), and a
// request the proxy received over HTTPS (X-Forwarded-Proto: https) carries
// a TLS state, so that handlers set Secure cookies by looking at r.TLS
// alone. Responses to HTTPS requests carry HSTS.
func (ps proxies) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if peer, ok := remoteAddr(r); ok && ps.trusts(peer) {
			r = r.Clone(r.Context())
			if client, ok := ps.forwardedFor(r.Header.Values("X-Forwarded-For")); ok {
				r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
			}
			if last(r.Header.Values("X-Forwarded-Proto")) == "https" && r.TLS == nil {
				r.TLS = &tls.ConnectionState{}
			}
		}
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", hstsHeader)
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedFor returns the client address of an X-Forwarded-For chain: the
// rightmost address that is not a trusted proxy, since each proxy appends
// the address it received the request from and only trusted ones can be
// believed.
func (ps proxies) forwardedFor(values []string) (netip.Addr, bool) {
	var chain []string
	for _, v := range values {
		chain = append(chain, strings.Split(v, ",")...)
	}
	var client netip.Addr
	for i := len(chain) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(chain[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !ps.trusts(client) {
			break
		}
	}
	return client, client.IsValid()
}

func remoteAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a, err == nil
}

// last returns the last comma-separated element of a header's values, in
// lower case: what the nearest proxy said.
func last(values []string) string {
	if len(values) == 0 {
		return ""
	}
	parts := strings.Split(values[len(values)-1], ",")
	return strings.ToLower(strings.TrimSpace(parts[len(parts)-1]))
}
