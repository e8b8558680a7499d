package httpapi

import (
	"net/http"
	"strings"
)

// SessionHintCookie tells the console's script that a session cookie was
// set, which it cannot see itself (the session cookie is HttpOnly). Without
// the hint the console does not ask GET /me, so a fresh page load before
// sign-in makes no request that fails with 401 (and no error in the
// browser console). It holds no secret: forging it only makes the console
// ask /me and get the 401 it would have got anyway.
const SessionHintCookie = "roster_signed_in"

// addSessionHint adds the hint cookie next to every session cookie the
// answer sets or clears, with the same lifetime, so they come and go
// together whichever handler (password, OIDC callback, logout) set it.
func addSessionHint(h http.Header) {
	for _, line := range h.Values("Set-Cookie") {
		if !strings.HasPrefix(line, SessionCookie+"=") {
			continue
		}
		c, err := http.ParseSetCookie(line)
		if err != nil {
			return
		}
		hint := &http.Cookie{Name: SessionHintCookie, Value: "1", Path: "/", Expires: c.Expires, MaxAge: c.MaxAge,
			Secure: c.Secure, SameSite: http.SameSiteStrictMode}
		if c.Value == "" {
			hint.Value, hint.MaxAge = "", -1
		}
		h.Add("Set-Cookie", hint.String())
		return
	}
}
