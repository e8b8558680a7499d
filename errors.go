package roster

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes. Each maps to one HTTP status at the edge, so inner packages
// never need to know about HTTP.
const (
	ECONFLICT     = "conflict"     // 409: uniqueness, duplicate
	EINTERNAL     = "internal"     // 500
	EINVALID      = "invalid"      // 400 / 422: validation
	ENOTFOUND     = "not_found"    // 404
	EFORBIDDEN    = "forbidden"    // 403: authenticated, not allowed
	EUNAUTHORIZED = "unauthorized" // 401
	ETOOLARGE     = "too_large"    // 413
	ETOOMANY      = "too_many"     // 429: a budget is used up; try later
	// EUNAVAILABLE is a dependency that is down or overloaded (the
	// database, the identity provider): 503 with Retry-After, because the
	// same request will work once it is back.
	EUNAVAILABLE = "unavailable"
	// ESTALE is a change made from an out-of-date copy (412): the record
	// was changed by someone else since the caller read it.
	ESTALE = "stale"
)

// FieldError names the input field (CSV column or JSON property) that was
// wrong, so a non-technical user can be pointed at it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Value   string `json:"value,omitempty"` // only for values that are not PII
}

func (f FieldError) String() string { return f.Field + ": " + f.Message }

// Error is the application error. Message is safe to show to the caller; it
// never contains PII or secrets.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	// RetryAfter says, for EUNAVAILABLE, when the condition is likely to
	// have passed: a hashing queue drains in a second, a restarting
	// database takes longer. Zero means the edge's default.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.String()
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation error listing every bad field.
func Invalid(fields ...FieldError) *Error {
	return &Error{Code: EINVALID, Message: "validation failed", Fields: fields}
}

// ErrorCode returns the code of err, or EINTERNAL for unknown errors.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err; unknown errors get a
// generic message so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
