package httpapi

import (
	"net/http"
	"strings"
	"unicode"

	"github.com/danielgtaylor/huma/v2"
)

// refuseControlChars answers 400 for a path or query holding a control
// character (a %00 in /users/{id}, say). No id, code or search term has
// one, and PostgreSQL refuses NUL in text, so such a value would otherwise
// end as a 500 on one engine and a silent miss on the other. Body fields
// are checked by the services' rules, which name the field.
func (s *Server) refuseControlChars(ctx huma.Context, next func(huma.Context)) {
	u := ctx.URL()
	if hasControl(u.Path) || hasControl(u.RawQuery) || queryHasControl(u.Query()) {
		_ = huma.WriteErr(s.api, ctx, http.StatusBadRequest, "the path and query must not contain control characters")
		return
	}
	next(ctx)
}

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

func queryHasControl(q map[string][]string) bool {
	for k, vs := range q {
		if hasControl(k) {
			return true
		}
		for _, v := range vs {
			if hasControl(v) {
				return true
			}
		}
	}
	return false
}
