// Package outbound is the policy for every outbound connection a tenant can
// aim: connector endpoints, provisioning endpoints, and the URLs inside
// credentials (a service account's token URI, an Azure connection
// string's endpoint). Private, loopback, link-local, unspecified and
// multicast addresses are refused unless the operator allows them
// (TRUECOST_OUTBOUND_ALLOW). The check runs on every connection, on the
// address actually dialled after DNS resolution, so a name that resolves
// to an internal address — or starts to, between a check and the
// connection — is refused too. It is an adapter: the cloud adapters take
// its HTTP client or transport; main builds it from configuration.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/truecost/truecost/domain"
)

// EnvAllow names the operator setting that allows internal destinations.
const EnvAllow = "TRUECOST_OUTBOUND_ALLOW"

// Policy decides which addresses outbound connections may reach. The zero
// Policy (and a nil *Policy) refuses every internal address.
type Policy struct {
	networks []netip.Prefix
	hosts    []string // lower-case names; "*.example" allows the subdomains of example
}

// Parse reads an allow list: host names, IP addresses or CIDR networks,
// separated by commas or spaces (e.g. "127.0.0.1, 10.0.0.0/8,
// minio.internal, *.corp.example"). An empty list allows nothing internal.
// A malformed entry is a domain.Invalid error.
func Parse(list string) (*Policy, error) {
	p := &Policy{}
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		switch {
		case strings.Contains(f, "/"):
			pfx, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, domain.WrapError(domain.Invalid, err, "%s: %q is not a CIDR network", EnvAllow, f)
			}
			p.networks = append(p.networks, pfx.Masked())
		default:
			if ip, err := netip.ParseAddr(strings.Trim(f, "[]")); err == nil {
				ip = ip.Unmap()
				p.networks = append(p.networks, netip.PrefixFrom(ip, ip.BitLen()))
				continue
			}
			name := strings.ToLower(strings.TrimSuffix(f, "."))
			if !validHost(strings.TrimPrefix(name, "*.")) {
				return nil, domain.Errorf(domain.Invalid, "%s: %q is not a host name, address or CIDR network", EnvAllow, f)
			}
			p.hosts = append(p.hosts, name)
		}
	}
	return p, nil
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// allowsHost reports whether the operator allowed host by name.
func (p *Policy) allowsHost(host string) bool {
	if p == nil {
		return false
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range p.hosts {
		if h == host || strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:]) {
			return true
		}
	}
	return false
}

// allowsAddr reports whether the operator allowed ip by network.
func (p *Policy) allowsAddr(ip netip.Addr) bool {
	if p == nil {
		return false
	}
	for _, n := range p.networks {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// Refused is the error of a connection the policy refused. It is a
// domain.Invalid error: the endpoint a tenant gave is what must change,
// or the operator must allow it.
type Refused struct {
	Host string     // the endpoint's host as given
	Addr netip.Addr // the address it resolved to
	Kind string     // e.g. "loopback", "private", "link-local"
}

func (e *Refused) Error() string {
	host := e.Host
	if host != e.Addr.String() {
		host = fmt.Sprintf("%s (%s)", e.Host, e.Addr)
	}
	return fmt.Sprintf("endpoint %s is a private address (%s); allow it with %s", host, e.Kind, EnvAllow)
}

// DomainError returns the refusal as the domain's coded error.
func (e *Refused) DomainError() error {
	return domain.WrapError(domain.Invalid, e, "%s", e.Error())
}

// AsRefused returns the refusal in err's chain as a domain.Invalid error,
// or nil when the policy refused nothing. Adapters wrap transport errors
// in their own words; callers use this to say what really happened.
func AsRefused(err error) error {
	var r *Refused
	if errors.As(err, &r) {
		return r.DomainError()
	}
	return nil
}

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT, internal by use
	benchmark   = netip.MustParsePrefix("198.18.0.0/15")
	reserved    = netip.MustParsePrefix("240.0.0.0/4") // includes the broadcast address
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
)

// internalKind names what kind of internal address ip is, or "" for a
// public one.
func internalKind(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsUnspecified() || thisNetwork.Contains(ip):
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast():
		return "multicast"
	case ip.IsPrivate() || sharedSpace.Contains(ip) || benchmark.Contains(ip):
		return "private"
	case reserved.Contains(ip):
		return "reserved"
	}
	return ""
}

// Check reports whether a connection to ip, reached through host (a name
// or the address itself), is allowed: a *Refused error when not.
func (p *Policy) Check(host string, ip netip.Addr) error {
	kind := internalKind(ip)
	if kind == "" || p.allowsAddr(ip.Unmap()) || p.allowsHost(host) {
		return nil
	}
	return &Refused{Host: host, Addr: ip.Unmap(), Kind: kind}
}

// hostKey carries the dialled host name to the dialer's Control hook.
type hostKey struct{}

// DialContext connects like net.Dialer but checks, in the dialer's Control
// hook, each address actually connected to: after DNS resolution, on every
// connection, whichever address of several a name resolves to is tried.
func (p *Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, addr string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return fmt.Errorf("outbound: unexpected address %q: %w", addr, err)
			}
			return p.Check(host, ap.Addr())
		},
	}
	return d.DialContext(ctx, network, address)
}

// Transport returns an HTTP transport whose connections obey the policy.
// It ignores HTTP(S)_PROXY: through a proxy, the proxy would pick the
// address and the check could not see it.
func (p *Policy) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = p.DialContext
	return t
}

// Client returns an HTTP client over Transport.
func (p *Policy) Client() *http.Client {
	return &http.Client{Transport: p.Transport()}
}

// CheckURL resolves rawURL's host and checks every address it has now, for
// a clear answer when an endpoint is saved or tested; connections are
// checked again when made.
func (p *Policy) CheckURL(ctx context.Context, rawURL string) error {
	host := rawURL
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.Check(host, ip)
	}
	if p.allowsHost(host) {
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil // the connection reports it, and is checked then
	}
	for _, ip := range addrs {
		if err := p.Check(host, ip); err != nil {
			return err
		}
	}
	return nil
}
