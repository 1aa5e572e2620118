package views

import (
	"net/http"
	"strconv"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/views/layout"
)

// statusClientClosedRequest is the status recorded for a request whose
// client went away before the answer (nginx's 499).
const statusClientClosedRequest = 499

// serveError is the one place a domain error becomes an HTTP response: an
// unauthenticated caller is sent to the login page, everything else gets a
// status and a page (or, for htmx, a fragment) with a message safe to show.
func (s *server) serveError(w http.ResponseWriter, r *http.Request, err error) {
	code := domain.ErrorCode(err)
	if code == domain.Unauthorized {
		if layout.IsFragmentRequest(r) {
			w.Header().Set("HX-Redirect", "/login")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}

	if r.Context().Err() != nil && code != domain.Invalid && code != domain.Forbidden && code != domain.NotFound {
		// The browser went away; nobody reads the page, and a cancelled
		// query is not a failure of the server.
		w.WriteHeader(statusClientClosedRequest)
		return
	}
	status, title := http.StatusInternalServerError, "Something went wrong"
	message := "An unexpected error occurred. It has been logged; please try again later."
	switch code {
	case domain.Invalid:
		status, title, message = http.StatusBadRequest, "Invalid request", domain.ErrorMessage(err)
	case domain.Forbidden:
		status, title, message = http.StatusForbidden, "Not allowed", domain.ErrorMessage(err)
	case domain.NotFound:
		status, title, message = http.StatusNotFound, "Not found", domain.ErrorMessage(err)
	case domain.Conflict:
		status, title, message = http.StatusConflict, "Conflict", domain.ErrorMessage(err)
	case domain.RateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(domain.RetryAfterSeconds(err)))
		status, title, message = http.StatusTooManyRequests, "Too many attempts", domain.ErrorMessage(err)
	case domain.Unavailable:
		status, title, message = http.StatusServiceUnavailable, "Temporarily unavailable", domain.ErrorMessage(err)
	default:
		s.deps.Logger.ErrorContext(r.Context(), "console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}

	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	page := layout.ErrorView{Status: status, Title: title, Message: message}
	component := layout.ErrorPage(layout.ChromeFrom(r.Context()), page)
	if layout.IsFragmentRequest(r) {
		component = layout.ErrorFragment(page)
	}
	if rerr := component.Render(r.Context(), w); rerr != nil {
		s.deps.Logger.ErrorContext(r.Context(), "render error page", "err", rerr)
	}
}
