package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/roster-dev/roster/internal/httpapi"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

func cookieNamed(res *response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// The console's script can tell that a session cookie exists, which it
// cannot read, from a hint cookie set and cleared with it; the hint holds
// nothing but "1".
func TestSessionHintCookieFollowsTheSessionCookie(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		res := e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "adminA", "password": testPassword}, nil).
			expect(t, http.StatusOK)
		session, hint := cookieNamed(res, httpapi.SessionCookie), cookieNamed(res, httpapi.SessionHintCookie)
		if session == nil || hint == nil {
			t.Fatalf("login set %v", res.Header.Values("Set-Cookie"))
		}
		if hint.HttpOnly || hint.Value != "1" || !hint.Expires.Equal(session.Expires) || hint.Path != "/" ||
			hint.SameSite != http.SameSiteStrictMode || !session.HttpOnly {
			t.Fatalf("hint %+v beside session %+v", hint, session)
		}

		res = e.do(http.MethodPost, "/api/v1/auth/logout", "", nil, nil).expect(t, http.StatusNoContent)
		hint = cookieNamed(res, httpapi.SessionHintCookie)
		if hint == nil || hint.Value != "" || hint.MaxAge >= 0 {
			t.Fatalf("logout left the hint: %v", res.Header.Values("Set-Cookie"))
		}

		res = e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "adminA", "password": "wrong-password-1"}, nil).
			expect(t, http.StatusUnauthorized)
		if cookieNamed(res, httpapi.SessionHintCookie) != nil {
			t.Fatal("a failed sign-in set the hint")
		}
	})
}
