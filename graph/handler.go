package graph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph/generated"
)

const (
	// complexityLimit bounds the work one operation may ask for.
	complexityLimit = 500
	// maxBodyBytes bounds a request body: operations and their variables
	// are small, and a large body is only work for the parser.
	maxBodyBytes = 64 << 10
	// requestTimeout bounds the time one request may take, resolvers
	// included.
	requestTimeout = 60 * time.Second
	queryCacheSize = 1000
)

// NewHandler returns the HTTP handler of the GraphQL API, to be mounted at
// /graphql. It answers POST and GET operations of authenticated callers
// (an API token as `Authorization: Bearer TOKEN`, or a console session cookie
// together with its CSRF header) and serves GraphiQL to a browser's GET.
// A request without valid credentials gets HTTP 401 and a GraphQL error
// whose extensions.code is "unauthorized".
func NewHandler(deps Deps) http.Handler {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	log := deps.Logger
	resolver := &Resolver{deps: deps}
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: resolver, Complexity: complexity()}))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](queryCacheSize))
	srv.Use(extension.Introspection{})
	srv.Use(operationLimit{})
	srv.Use(extension.FixedComplexityLimit(complexityLimit))
	srv.SetErrorPresenter(errorPresenter(log))
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "graphql resolver panicked", "panic", v, "stack", string(debug.Stack()))
		return errRecovered
	})
	return &apiHandler{tenancy: deps.Tenancy, resolver: resolver, log: log, srv: srv}
}

type apiHandler struct {
	tenancy  Tenancy
	resolver *Resolver
	log      *slog.Logger
	srv      http.Handler
}

func (h *apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && acceptsHTML(r):
		serveGraphiQL(w, r)
		return
	case r.Method == http.MethodOptions:
		// Preflights carry no credentials.
		h.srv.ServeHTTP(w, r)
		return
	}
	// Answers are data, never pages to frame or sniff.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	p, err := h.authenticate(r)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	// Read the body here, not in the transport, so that a body over the
	// limit gets a coded error whether or not it declared its length.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, domain.Invalid, "could not read the request body")
		return
	}
	if len(body) > maxBodyBytes || len(r.URL.RawQuery) > maxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, domain.Invalid, fmt.Sprintf("the request is too large: at most %d KiB are allowed", maxBodyBytes>>10))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	ctx = tenancy.WithRightsCache(tenancy.WithPrincipal(ctx, p))
	h.srv.ServeHTTP(w, r.WithContext(h.resolver.withLoaders(ctx)))
}

// refuse answers a request whose credentials could not be accepted.
func (h *apiHandler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch code := domain.ErrorCode(err); code {
	case domain.Unauthorized, domain.NotFound:
		msg := domain.ErrorMessage(err)
		if code == domain.NotFound {
			// The credential names a user or organization that is gone.
			msg = "these credentials are no longer valid"
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="truecost"`)
		writeError(w, http.StatusUnauthorized, domain.Unauthorized, msg)
	case domain.RateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(domain.RetryAfterSeconds(err)))
		writeError(w, http.StatusTooManyRequests, code, domain.ErrorMessage(err))
	case domain.Unavailable:
		writeError(w, http.StatusServiceUnavailable, code, domain.ErrorMessage(err))
	default:
		if r.Context().Err() != nil {
			// The client went away while its credentials were checked.
			w.WriteHeader(StatusClientClosedRequest)
			return
		}
		h.log.ErrorContext(r.Context(), "graphql authentication failed", "err", err)
		writeError(w, http.StatusInternalServerError, domain.Internal, internalMessage)
	}
}

// authenticate finds the caller: a bearer token when an Authorization header
// is sent, else a session cookie, which counts only with its CSRF header so
// that another site cannot make a browser call the API with it.
func (h *apiHandler) authenticate(r *http.Request) (tenancy.Principal, error) {
	ctx := r.Context()
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, token, ok := strings.Cut(auth, " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return tenancy.Principal{}, domain.Errorf(domain.Unauthorized, "the Authorization header must be Bearer TOKEN")
		}
		return h.tenancy.TokenPrincipal(ctx, token, r.RemoteAddr)
	}
	cookie, err := r.Cookie(tenancy.SessionCookie)
	if err != nil || cookie.Value == "" {
		return tenancy.Principal{}, domain.Errorf(domain.Unauthorized, "an API token (Authorization: Bearer TOKEN) or a console session is required")
	}
	errCSRF := domain.Errorf(domain.Unauthorized, "a console session needs its %s header", tenancy.CSRFHeader)
	csrf := r.Header.Get(tenancy.CSRFHeader)
	if csrf == "" {
		return tenancy.Principal{}, errCSRF
	}
	sess, p, err := h.tenancy.SessionPrincipal(ctx, cookie.Value)
	if err != nil {
		return tenancy.Principal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(csrf), []byte(sess.CSRF)) != 1 {
		return tenancy.Principal{}, errCSRF
	}
	return p, nil
}

// serveGraphiQL serves gqlgen's GraphiQL page under a Content-Security-Policy
// that allows its scripts from the CDN it names (each pinned by its
// integrity hash), its inline script by hash, and no framing.
func serveGraphiQL(w http.ResponseWriter, r *http.Request) {
	page := httptest.NewRecorder()
	playground.Handler("Truecost GraphQL", r.URL.Path).ServeHTTP(page, r)
	var hashes []string
	for _, m := range inlineScript.FindAllSubmatch(page.Body.Bytes(), -1) {
		sum := sha256.Sum256(m[1])
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src "+graphiQLCDN+" "+strings.Join(hashes, " ")+
		"; style-src "+graphiQLCDN+" 'unsafe-inline'; font-src "+graphiQLCDN+" data:; img-src 'self' data:; connect-src 'self'"+
		"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(page.Code)
	_, _ = w.Write(page.Body.Bytes())
}

// graphiQLCDN is where gqlgen's GraphiQL page loads GraphiQL and React from.
const graphiQLCDN = "https://cdn.jsdelivr.net"

// inlineScript matches the page's script elements without attributes.
var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

func acceptsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/html") {
			return true
		}
	}
	return false
}

// writeError answers a request that never reached the executor with a
// GraphQL-shaped error body.
func writeError(w http.ResponseWriter, status int, code domain.Code, message string) {
	type gqlError struct {
		Message    string            `json:"message"`
		Extensions map[string]string `json:"extensions"`
	}
	body, _ := json.Marshal(struct {
		Errors []gqlError `json:"errors"`
	}{[]gqlError{{Message: message, Extensions: map[string]string{"code": errorCode(code)}}}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// StatusClientClosedRequest is the status recorded for a request whose
// client went away before the answer (nginx's 499); the client never
// receives it.
const StatusClientClosedRequest = 499

// internalMessage is all a client learns of an unexpected failure.
const internalMessage = "internal error"

// errRecovered stands for a resolver panic, already logged with its stack.
var errRecovered = errors.New("resolver panicked")

// errorPresenter turns a resolver's error into the GraphQL error clients see:
// a domain error's safe message and its code in extensions.code; anything
// else is logged and shown only as "internal error". gqlgen's own errors
// (parsing, validation, complexity) pass through as they are.
func errorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		var de *domain.Error
		switch {
		case errors.As(err, &de) && de.Code != domain.Internal:
			if de.Err != nil {
				// The caller sees the safe message; the log keeps the
				// chain (hosts, request IDs) for the operator.
				log.WarnContext(ctx, "graphql request refused", "path", gqlErr.Path.String(), "code", de.Code, "err", err)
			}
			gqlErr.Message = de.Message
			setCode(gqlErr, de.Code)
		case de == nil && gqlErr.Err == nil:
			// Made by gqlgen itself (parsing, validation, complexity): the
			// message is safe and already coded.
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			// The client went away: nobody reads the answer, and nothing
			// failed on this side.
			log.DebugContext(ctx, "graphql request cancelled by the client", "path", gqlErr.Path.String())
			gqlErr.Message = "the request was cancelled"
			setCode(gqlErr, domain.Unavailable)
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
			log.WarnContext(ctx, "graphql request timed out", "path", gqlErr.Path.String(), "err", err)
			gqlErr.Message = "the request took too long; narrow it or try again"
			setCode(gqlErr, domain.Unavailable)
		default:
			if !errors.Is(err, errRecovered) {
				log.ErrorContext(ctx, "graphql request failed", "path", gqlErr.Path.String(), "err", err)
			}
			gqlErr.Message = internalMessage
			setCode(gqlErr, domain.Internal)
		}
		// The cause is for logs only; gqlerror does not serialise it, but
		// drop it so that no later step can leak it either.
		gqlErr.Err = nil
		return gqlErr
	}
}

func setCode(e *gqlerror.Error, code domain.Code) {
	if e.Extensions == nil {
		e.Extensions = make(map[string]any)
	}
	e.Extensions["code"] = errorCode(code)
}

// errorCode is the extensions.code clients read: the domain code in lower
// case, such as "not_found".
func errorCode(code domain.Code) string { return strings.ToLower(string(code)) }
