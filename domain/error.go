package domain

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an Error so that each driver (GraphQL, console, CLI) can
// turn it into a response in one place.
type Code string

// The error codes of Truecost.
const (
	Invalid      Code = "invalid"
	NotFound     Code = "not_found"
	Conflict     Code = "conflict"
	Forbidden    Code = "forbidden"
	Unauthorized Code = "unauthorized"
	Unavailable  Code = "unavailable"
	// RateLimited refuses a caller who tried too often; Error.RetryAfter
	// says when it may try again.
	RateLimited Code = "rate_limited"
	Internal    Code = "internal"
)

// Error is a failure the caller may be told about: Message is safe to show to
// users; Err, when set, is the underlying cause kept for logs.
type Error struct {
	Code    Code
	Message string
	Err     error
	// RetryAfter, when set, is how long the caller should wait before
	// trying again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted, user-safe message.
func Errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with the code and message that keeps err as its
// cause.
func WrapError(code Code, err error, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, or Internal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorMessage returns the user-safe message of the first *Error in err's
// chain, or a generic message for errors that must not leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// RetryAfterSeconds returns the wait of the first *Error in err's chain in
// whole seconds, rounded up (an HTTP Retry-After), or zero.
func RetryAfterSeconds(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return int((e.RetryAfter + time.Second - 1) / time.Second)
	}
	return 0
}

// IsNotFound reports whether err carries the NotFound code.
func IsNotFound(err error) bool { return ErrorCode(err) == NotFound }
