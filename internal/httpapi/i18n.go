package httpapi

import (
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/roster-dev/roster/internal/i18n"
)

// translateProblems is a huma transformer: every problem body, the
// services' and huma's own, leaves in the request's language (i18n.
// Middleware put it in the context). Only title, detail and each error's
// message change; the location keeps naming the field as the API spells
// it, so clients match errors to fields in every language.
func translateProblems(ctx huma.Context, _ string, v any) (any, error) {
	m := problemOf(v)
	if m == nil {
		return v, nil
	}
	lang := i18n.Lang(ctx.Context())
	if lang == i18n.Default {
		return v, nil
	}
	ctx.SetHeader("Content-Language", lang)
	if m.Status != 0 && m.Title == http.StatusText(m.Status) {
		if t := i18n.T(lang, "title_"+strconv.Itoa(m.Status), nil); t != "title_"+strconv.Itoa(m.Status) {
			m.Title = t
		}
	}
	m.Detail = i18n.Message(lang, m.Detail)
	for _, d := range m.Errors {
		if d != nil {
			d.Message = i18n.Message(lang, d.Message)
		}
	}
	return v, nil
}

// problemOf finds the problem inside the error types apiError returns.
func problemOf(v any) *huma.ErrorModel {
	switch e := v.(type) {
	case *huma.ErrorModel:
		return e
	case unauthorizedError:
		return e.ErrorModel
	case unavailableError:
		return e.ErrorModel
	}
	return nil
}
