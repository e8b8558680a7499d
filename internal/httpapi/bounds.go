package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/roster-dev/roster/internal/registry"
)

// Bounds on JSON request bodies. Every body Roster takes is a few hundred
// bytes to a few KB; huma's own default would allow 1 MB. The structure is
// bounded too, before huma decodes anything: a deep nest or a long array
// costs memory and time out of proportion to its bytes.
const (
	DefaultMaxBodyBytes = 64 << 10
	MaxJSONDepth        = 16
	MaxJSONItems        = 1000
)

// withBodyDefaults gives an operation the default body bound unless it
// sets its own (the upload form does).
func withBodyDefaults(op huma.Operation) huma.Operation {
	if op.MaxBodyBytes == 0 {
		op.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return op
}

// boundBody checks a JSON body's size, depth and array lengths before huma
// decodes it, then hands huma the same bytes. It runs after authenticate,
// so an anonymous caller of a secured operation is not read at all.
func (s *Server) boundBody(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op.RequestBody == nil || op.RequestBody.Content["application/json"] == nil || op.MaxBodyBytes <= 0 {
		next(ctx)
		return
	}
	r, _ := humago.Unwrap(ctx)
	timeout := op.BodyReadTimeout
	if timeout == 0 {
		timeout = 5 * time.Second // huma's default
	}
	if timeout > 0 {
		_ = ctx.SetReadDeadline(time.Now().Add(timeout))
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, op.MaxBodyBytes))
	r.Body.Close()
	switch {
	case int64(len(data)) == op.MaxBodyBytes:
		_ = huma.WriteErr(s.api, ctx, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("the request body is larger than the %d KB limit", op.MaxBodyBytes>>10))
		return
	case err != nil:
		_ = huma.WriteErr(s.api, ctx, http.StatusBadRequest, "the request body could not be read")
		return
	}
	if msg := jsonShapeProblem(data); msg != "" {
		_ = huma.WriteErr(s.api, ctx, http.StatusUnprocessableEntity, "the request body is too complex",
			&huma.ErrorDetail{Location: "body", Message: msg})
		return
	}
	if locs := nulLocations(data); len(locs) > 0 {
		details := make([]error, len(locs))
		for i, l := range locs {
			details[i] = &huma.ErrorDetail{Location: l, Message: registry.MsgControl}
		}
		_ = huma.WriteErr(s.api, ctx, http.StatusUnprocessableEntity, "validation failed", details...)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	next(ctx)
}

// jsonShapeProblem reports a body nested deeper than MaxJSONDepth or with
// an array of more than MaxJSONItems items. Malformed JSON is left for
// huma to report as usual.
func jsonShapeProblem(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	// items[i] counts the values of the i-th open container that is an
	// array; -1 marks an object.
	var items []int
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return ""
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			items = items[:len(items)-1]
			continue
		}
		if n := len(items); n > 0 && items[n-1] >= 0 {
			if items[n-1]++; items[n-1] > MaxJSONItems {
				return fmt.Sprintf("an array has more than %d items", MaxJSONItems)
			}
		}
		if d, ok := tok.(json.Delim); ok {
			if len(items) == MaxJSONDepth {
				return fmt.Sprintf("values are nested more than %d levels deep", MaxJSONDepth)
			}
			if d == '[' {
				items = append(items, 0)
			} else {
				items = append(items, -1)
			}
		}
	}
}

// nulLocations lists, as "body.<path>", every string of a JSON body that
// holds a NUL character. PostgreSQL cannot store NUL in text and SQLite
// would keep it silently, so every operation refuses it here, before its
// service sees the value, with the rule book's message; the rule book
// still checks the other control characters of user fields itself.
func nulLocations(data []byte) []string {
	if !bytes.Contains(data, []byte(`\u0000`)) {
		return nil
	}
	type frame struct {
		object  bool
		key     string
		wantKey bool
	}
	var stack []frame
	var out []string
	dec := json.NewDecoder(bytes.NewReader(data))
	path := func() string {
		p := "body"
		for _, f := range stack {
			if f.object && f.key != "" {
				p += "." + f.key
			}
		}
		return p
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				stack = append(stack, frame{object: d == '{', wantKey: d == '{'})
			default:
				stack = stack[:top]
				if top > 0 && stack[top-1].object {
					stack[top-1].wantKey = true
				}
			}
			continue
		}
		if top >= 0 && stack[top].object && stack[top].wantKey {
			k, _ := tok.(string)
			stack[top].key, stack[top].wantKey = k, false
			if strings.ContainsRune(k, 0) {
				out = append(out, path())
			}
			continue
		}
		if s, ok := tok.(string); ok && strings.ContainsRune(s, 0) {
			out = append(out, path())
		}
		if top >= 0 && stack[top].object {
			stack[top].wantKey = true
		}
	}
}
