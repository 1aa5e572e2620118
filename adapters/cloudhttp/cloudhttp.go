// Package cloudhttp is the HTTP client every call to a cloud goes through:
// storage reads (S3, Blob Storage, Object Storage), BigQuery, the control
// planes that provisioning drives, and the token endpoints behind them
// (STS, Microsoft Entra ID, Google OAuth). It gives each call a deadline,
// so that a cloud which accepts a connection and never answers fails the
// call with a domain.Unavailable error instead of holding it forever.
package cloudhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/auth/httptransport"

	"github.com/truecost/truecost/domain"
)

// Default deadlines.
const (
	// DefaultCall bounds one request: connecting, sending it and receiving
	// the response headers.
	DefaultCall = 30 * time.Second
	// DefaultIdle bounds each pause while a response body streams; a large
	// export may take minutes to read, but never stalls that long.
	DefaultIdle = 2 * time.Minute
)

// Timeouts are the deadlines of outbound calls. Zero fields take the
// defaults.
type Timeouts struct {
	Call time.Duration
	Idle time.Duration
}

func (t Timeouts) call() time.Duration {
	if t.Call <= 0 {
		return DefaultCall
	}
	return t.Call
}

func (t Timeouts) idle() time.Duration {
	if t.Idle <= 0 {
		return DefaultIdle
	}
	return t.Idle
}

// ErrTimeout is in the chain of every error a deadline caused.
var ErrTimeout = errors.New("cloud call timed out")

// Client returns an HTTP client whose calls keep t's deadlines. Each call
// returns a new client sharing nothing with the others but the defaults.
func (t Timeouts) Client() *http.Client {
	return &http.Client{Transport: t.Transport(nil)}
}

// Transport wraps base (http.DefaultTransport's settings when nil) with t's
// deadlines.
func (t Timeouts) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: min(t.call(), 30*time.Second), KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = min(t.call(), 10*time.Second)
		base = tr
	}
	return &transport{base: base, call: t.call(), idle: t.idle()}
}

type transport struct {
	base       http.RoundTripper
	call, idle time.Duration
}

// timeoutError is the cause a deadline cancels a call with.
func timeoutError(host, what string, d time.Duration) error {
	return domain.WrapError(domain.Unavailable, ErrTimeout, "%s did not %s within %s", host, what, d)
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(t.call, func() { cancel(timeoutError(req.URL.Host, "answer", t.call)) })
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	timer.Stop()
	if err != nil {
		cause := context.Cause(ctx)
		cancel(nil)
		if errors.Is(cause, ErrTimeout) {
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), cause)
		}
		return nil, err
	}
	b := &idleBody{body: resp.Body, ctx: ctx, cancel: cancel}
	b.timer = time.AfterFunc(t.idle, func() { cancel(timeoutError(req.URL.Host, "send more of its answer", t.idle)) })
	b.idle = t.idle
	resp.Body = b
	return resp, nil
}

// idleBody fails a read once the body has paused longer than idle.
type idleBody struct {
	body   io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration

	mu    sync.Mutex
	timer *time.Timer
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.mu.Lock()
		b.timer.Reset(b.idle)
		b.mu.Unlock()
	}
	if err != nil && err != io.EOF {
		if cause := context.Cause(b.ctx); errors.Is(cause, ErrTimeout) {
			return n, cause
		}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.mu.Lock()
	b.timer.Stop()
	b.mu.Unlock()
	err := b.body.Close()
	b.cancel(nil)
	return err
}

// Google returns a client for Google Cloud APIs that signs in with the
// service-account key keyJSON: the token requests and the API calls both
// keep t's deadlines. Only a service-account key is accepted: a
// credential of another type could make the client fetch URLs it names.
func (t Timeouts) Google(keyJSON []byte) (*http.Client, error) {
	tr := t.Transport(nil)
	creds, err := credentials.NewCredentialsFromJSON(credentials.ServiceAccount, keyJSON, &credentials.DetectOptions{
		Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"},
		Client: &http.Client{Transport: tr},
	})
	if err != nil {
		return nil, err
	}
	return httptransport.NewClient(&httptransport.Options{Credentials: creds, BaseRoundTripper: tr})
}

// Doer sends one request: an *http.Client, or an SDK's own client such as
// the AWS SDK's, which must stay its own type to take a custom CA bundle.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Wrap returns d with t's deadlines on every request it sends.
func (t Timeouts) Wrap(d Doer) Doer {
	return &wrapped{tr: t.Transport(doerTransport{d})}
}

type wrapped struct{ tr http.RoundTripper }

func (w *wrapped) Do(req *http.Request) (*http.Response, error) { return w.tr.RoundTrip(req) }

type doerTransport struct{ d Doer }

func (d doerTransport) RoundTrip(req *http.Request) (*http.Response, error) { return d.d.Do(req) }

// TimedOut returns the message of the deadline that err ran into ("HOST
// did not answer within 30s"), for adapters to name it in their own
// message, and whether there was one.
func TimedOut(err error) (string, bool) {
	var de *domain.Error
	if !errors.Is(err, ErrTimeout) || !errors.As(err, &de) || !errors.Is(de, ErrTimeout) {
		return "", false
	}
	return de.Message, true
}
