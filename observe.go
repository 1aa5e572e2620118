package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/truecost/truecost/domain"
)

// requestObserver is told of every HTTP request served.
type requestObserver interface {
	HTTPRequest(route, method string, status int, took time.Duration)
}

// logRequests writes one log record per request — method, route pattern,
// path, status, duration and bytes; never the query string, which may
// carry tokens — and reports it to obs.
func logRequests(log *slog.Logger, obs requestObserver, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		took := time.Since(start)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		// The mux records the pattern it matched on the request it was given.
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		obs.HTTPRequest(route, r.Method, status, took)
		level := slog.LevelInfo
		if status >= 500 && status != statusClientClosed {
			level = slog.LevelWarn
		}
		log.LogAttrs(r.Context(), level, "http request",
			slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Duration("duration", took), slog.Int64("bytes", rec.bytes))
	})
}

// statusClientClosed is the status of a request whose client went away.
const statusClientClosed = 499

// statusRecorder remembers the status and size of an answer.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(p)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// readyTimeout bounds the checks of /readyz.
const readyTimeout = 3 * time.Second

// ready says whether this instance can serve: the database answers and
// holds every migration this binary knows.
func (a *app) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		return domain.WrapError(domain.Unavailable, err, "database unreachable")
	}
	n, err := a.store.PendingMigrations(ctx)
	if err != nil {
		return domain.WrapError(domain.Unavailable, err, "cannot read the applied migrations")
	}
	if n > 0 {
		return domain.Errorf(domain.Unavailable, "%d migration(s) not applied yet", n)
	}
	return nil
}

// serveReady answers /readyz: 200 "ready", or 503 "not ready: " and a
// reason safe to show (the log keeps the whole error).
func (a *app) serveReady(log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := a.ready(r.Context()); err != nil {
			log.WarnContext(r.Context(), "not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", domain.ErrorMessage(err))
			return
		}
		fmt.Fprintln(w, "ready")
	}
}
