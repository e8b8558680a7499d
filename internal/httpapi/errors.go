package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/roster-dev/roster"
)

// statusOf maps application error codes to HTTP statuses. Validation is 422
// (the body was well-formed JSON but its values were wrong), matching what
// huma itself answers for schema violations.
func statusOf(code string) int {
	switch code {
	case roster.EINVALID:
		return http.StatusUnprocessableEntity
	case roster.ECONFLICT:
		return http.StatusConflict
	case roster.ENOTFOUND:
		return http.StatusNotFound
	case roster.EFORBIDDEN:
		return http.StatusForbidden
	case roster.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case roster.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case roster.ETOOMANY:
		return http.StatusTooManyRequests
	case roster.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case roster.ESTALE:
		return http.StatusPreconditionFailed
	}
	return http.StatusInternalServerError
}

// apiError turns a service error into an RFC 9457 problem. Every field error
// becomes one entry of "errors" with location "body.<field>", the same form
// huma uses for schema violations, so clients handle both alike. Anything
// that is not a *roster.Error is logged and answered with a generic 500:
// driver and SQL errors must never reach a caller.
func (s *Server) apiError(ctx context.Context, err error) error {
	var se huma.StatusError
	if errors.As(err, &se) {
		return err
	}
	var re *roster.Error
	if !errors.As(err, &re) {
		if errors.Is(err, context.Canceled) {
			// The client went away; nobody reads this answer.
			return huma.NewError(499, "request cancelled")
		}
		s.log.ErrorContext(ctx, "request failed", "err", err)
		return huma.Error500InternalServerError("internal error")
	}
	status := statusOf(re.Code)
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(ctx, "request failed", "err", err)
		return huma.Error500InternalServerError("internal error")
	}
	// Built here rather than through huma.NewError, which drops every
	// value: FieldError.Value is set by the services only for values that
	// are not personal data (an unknown role name), and pointing at it
	// helps the caller.
	out := &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: re.Message}
	for _, f := range re.Fields {
		d := &huma.ErrorDetail{Location: "body." + f.Field, Message: f.Message}
		if f.Value != "" {
			d.Value = f.Value
		}
		out.Errors = append(out.Errors, d)
	}
	switch status {
	case http.StatusUnauthorized:
		return unauthorizedError{out}
	case http.StatusServiceUnavailable:
		// Logged because an operator must hear of the outage; the error
		// chain names the driver's reason, never request data.
		s.log.WarnContext(ctx, "dependency unavailable", "err", err)
		return unavailableError{out, retryAfter(re)}
	case http.StatusTooManyRequests:
		if re.RetryAfter > 0 {
			return unavailableError{out, retryAfter(re)}
		}
	}
	return out
}

// RetryAfter is the Retry-After, in seconds, of every 503: long enough for
// a restarting database or IdP, short enough that clients come back soon.
const RetryAfter = "5"

// retryAfter is the Retry-After of a 503 for err: the service's own hint
// (a hashing queue drains in a second), else RetryAfter.
func retryAfter(err error) string {
	var re *roster.Error
	if errors.As(err, &re) && re.RetryAfter > 0 {
		return strconv.Itoa(int(re.RetryAfter.Round(time.Second) / time.Second))
	}
	return RetryAfter
}

// unavailableError tells the client when to try again.
type unavailableError struct {
	*huma.ErrorModel
	retryAfter string
}

func (e unavailableError) GetHeaders() http.Header {
	return http.Header{"Retry-After": {e.retryAfter}}
}

// hideErrorValues makes huma's own errors (schema validation, unparsable
// parameters) carry no values. huma builds them through the package-level
// huma.NewError, with no per-API option, so New installs the hook once,
// where the API is configured, rather than at import time of this package.
var hideErrorValues = sync.OnceFunc(func() {
	// huma's own errors (schema validation, unparsable parameters) carry
	// the offending value, and for a missing property the whole request
	// object, password and contact details included. Clients log problem
	// bodies, so only the location and message go back, for every
	// location (body, query, path, header).
	newError := huma.NewError
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		out := newError(status, msg, errs...)
		if m, ok := out.(*huma.ErrorModel); ok {
			for _, d := range m.Errors {
				if d != nil {
					d.Value = nil
				}
			}
		}
		return out
	}
})

// unauthorizedError adds the WWW-Authenticate challenge RFC 9110 requires
// on a 401.
type unauthorizedError struct{ *huma.ErrorModel }

func (e unauthorizedError) GetHeaders() http.Header {
	return http.Header{"WWW-Authenticate": {`Bearer realm="roster"`}}
}

// register adds an operation whose errors pass through apiError. All
// handlers are registered through it so no error text escapes unmapped.
func register[I, O any](s *Server, op huma.Operation, h func(context.Context, *I) (*O, error)) {
	huma.Register(s.api, withBodyDefaults(op), func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, s.apiError(ctx, err)
		}
		return out, nil
	})
}
