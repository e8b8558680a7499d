package auth

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/auth/authtest"
)

func testTokens(t *testing.T) *Tokens {
	t.Helper()
	tok, err := NewTokens([]byte(strings.Repeat("k", 32)), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokenRoundTrip(t *testing.T) {
	tok := testTokens(t)
	s, exp, err := tok.Issue("user-1", 7)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < 59*time.Minute || d > time.Hour {
		t.Errorf("expiry in %v, want about an hour", d)
	}
	got, gen, err := tok.Verify(s)
	if err != nil || got != "user-1" || gen != 7 {
		t.Fatalf("Verify = %q, %d, %v", got, gen, err)
	}
}

func TestTokenRejected(t *testing.T) {
	tok := testTokens(t)
	good, _, _ := tok.Issue("user-1", 0)
	other, _ := NewTokens([]byte(strings.Repeat("x", 32)), time.Hour)
	foreign, _, _ := other.Issue("user-1", 0)

	expired := testTokens(t)
	expired.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	old, _, _ := expired.Issue("user-1", 0)

	sign := func(method jwt.SigningMethod, key any, claims jwt.Claims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	wrongIssuer := sign(jwt.SigningMethodHS256, tok.key, jwt.RegisteredClaims{Issuer: "evil", Subject: "u",
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))})
	noExpiry := sign(jwt.SigningMethodHS256, tok.key, jwt.RegisteredClaims{Issuer: TokenIssuer, Subject: "u"})
	hs512 := sign(jwt.SigningMethodHS512, tok.key, jwt.RegisteredClaims{Issuer: TokenIssuer, Subject: "u",
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))})
	none := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.RegisteredClaims{Issuer: TokenIssuer,
		Subject: "u", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))})

	for name, s := range map[string]string{
		"other key": foreign, "expired": old, "wrong issuer": wrongIssuer, "no expiry": noExpiry,
		"other algorithm": hs512, "alg none": none, "garbage": "abc.def.ghi",
		"tampered": good[:len(good)-2] + "xx",
	} {
		if _, _, err := tok.Verify(s); err != ErrInvalidToken {
			t.Errorf("%s: Verify err = %v, want ErrInvalidToken", name, err)
		}
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "jwt.key")
	k1, err := LoadKey("", path)
	if err != nil || len(k1) != 32 {
		t.Fatalf("LoadKey created %d bytes, %v", len(k1), err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v", st.Mode(), err)
	}
	k2, err := LoadKey("", path)
	if err != nil || string(k1) != string(k2) {
		t.Fatal("second load returned another key")
	}
	env := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("e", 40)))
	if k, err := LoadKey(env, path); err != nil || string(k) != strings.Repeat("e", 40) {
		t.Fatalf("env key = %q, %v", k, err)
	}
	if _, err := LoadKey("short", path); err == nil {
		t.Fatal("short env key accepted")
	}
	if err := os.WriteFile(path, []byte("not base64!"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey("", path); err == nil {
		t.Fatal("corrupt key file accepted")
	}
}

func TestLoadKeyConcurrentStartsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwt.key")
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadKey("", path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if string(k) != string(keys[0]) {
			t.Fatal("concurrent starts produced different keys")
		}
	}
}

// fakeRegistry resolves lookups from a map and counts Principal loads.
type fakeRegistry struct {
	mu      sync.Mutex
	lookups map[string]string // type|value|provider|idType -> user id
	blocked map[string]bool
	gen     map[string]int64 // session generation by user id
	loads   int
}

func key(q Lookup) string {
	return q.Type + "|" + q.Value + "|" + q.Provider + "|" + q.IDType
}

func (f *fakeRegistry) FindUserID(ctx context.Context, q Lookup) (string, error) {
	if id, ok := f.lookups[key(q)]; ok {
		return id, nil
	}
	return "", roster.Errorf(roster.ENOTFOUND, "user not found")
}

func (f *fakeRegistry) Authenticate(ctx context.Context, login, password string) (*roster.Principal, error) {
	if login == "alice" && password == "secret123" {
		return &roster.Principal{UserID: "u-alice"}, nil
	}
	return nil, roster.Errorf(roster.EUNAUTHORIZED, "invalid login or password")
}

func (f *fakeRegistry) Principal(ctx context.Context, userID string) (*roster.Principal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	if f.blocked[userID] {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "user is blocked")
	}
	return &roster.Principal{UserID: userID, SessionGeneration: f.gen[userID],
		Grants: []roster.Grant{{OrgID: "o1", RootOrgID: "o1", Roles: []string{roster.RolePublic}}}}, nil
}

// A password change moves the user to a new session generation: tokens of
// the old one stop at once, a token issued in the new one works.
func TestAuthenticatorEndsOlderSessions(t *testing.T) {
	reg := &fakeRegistry{blocked: map[string]bool{}, gen: map[string]int64{}}
	a := &Authenticator{Tokens: testTokens(t), Registry: reg, CacheTTL: time.Hour}
	ctx := context.Background()
	old, _, _, err := a.Login(ctx, "alice", "secret123")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, old); err != nil {
		t.Fatal(err)
	}
	reg.mu.Lock()
	reg.gen["u-alice"] = 1
	reg.mu.Unlock()
	fresh, _, p, err := a.Reissue(ctx, "u-alice")
	if err != nil || p.SessionGeneration != 1 {
		t.Fatalf("Reissue = %v, %v", p, err)
	}
	if _, err := a.Authenticate(ctx, old); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Fatalf("token of the old generation: %v", err)
	}
	if p, err := a.Authenticate(ctx, fresh); err != nil || p.UserID != "u-alice" {
		t.Fatalf("token of the new generation: %v, %v", p, err)
	}
}

func TestAuthenticatorLoginAndCache(t *testing.T) {
	reg := &fakeRegistry{blocked: map[string]bool{}}
	a := &Authenticator{Tokens: testTokens(t), Registry: reg, CacheTTL: time.Hour}
	ctx := context.Background()

	if _, _, _, err := a.Login(ctx, "alice", "wrong"); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v", err)
	}
	token, _, p, err := a.Login(ctx, "alice", "secret123")
	if err != nil || p.UserID != "u-alice" {
		t.Fatalf("Login = %v, %v", p, err)
	}
	for range 3 {
		p, err := a.Authenticate(ctx, token)
		if err != nil || p.UserID != "u-alice" {
			t.Fatalf("Authenticate = %v, %v", p, err)
		}
	}
	if reg.loads != 1 {
		t.Errorf("principal loaded %d times, want 1 (cached)", reg.loads)
	}
	// A block is visible as soon as the cache entry is forgotten.
	reg.blocked["u-alice"] = true
	a.Forget("u-alice")
	if _, err := a.Authenticate(ctx, token); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Fatalf("blocked user authenticated: %v", err)
	}
	if _, err := a.Authenticate(ctx, ""); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Fatalf("empty token: %v", err)
	}
	if _, err := a.Authenticate(ctx, "nonsense"); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Fatalf("bad token: %v", err)
	}
}

func TestOIDC(t *testing.T) {
	idp := authtest.NewIdP(t)
	reg := &fakeRegistry{blocked: map[string]bool{}, lookups: map[string]string{
		"externalid|sub-1|state-sso|sso": "u-ext",
		"username|bob||":                 "u-bob",
		"email|carol@example.org||":      "u-carol",
	}}
	o, err := NewOIDC(OIDCConfig{Issuer: idp.URL, ClientID: "roster-web", Provider: "state-sso"}, reg.FindUserID)
	if err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{Tokens: testTokens(t), OIDC: o, Registry: reg, CacheTTL: -1}
	ctx := context.Background()

	ok := []struct {
		name   string
		claims map[string]any
		want   string
	}{
		{"external identity", map[string]any{"sub": "sub-1", "aud": "roster-web"}, "u-ext"},
		{"verified email", map[string]any{"sub": "sub-3", "aud": "api", "azp": "roster-web", "email": "carol@example.org", "email_verified": true}, "u-carol"},
	}
	for _, tc := range ok {
		p, err := a.Authenticate(ctx, idp.Token(tc.claims))
		if err != nil || p.UserID != tc.want {
			t.Errorf("%s: got %v, %v; want %s", tc.name, p, err, tc.want)
		}
	}

	bad := []struct {
		name  string
		token string
	}{
		{"username claim without MapUsername", idp.Token(map[string]any{"sub": "sub-2", "aud": "roster-web", "preferred_username": "bob"})},
		{"unverified email", idp.Token(map[string]any{"sub": "sub-3", "aud": "roster-web", "email": "carol@example.org", "email_verified": false})},
		{"unknown subject", idp.Token(map[string]any{"sub": "nobody", "aud": "roster-web"})},
		{"other client", idp.Token(map[string]any{"sub": "sub-1", "aud": "someone-else"})},
		{"expired", idp.Token(map[string]any{"sub": "sub-1", "aud": "roster-web", "exp": time.Now().Add(-time.Hour).Unix()})},
		{"wrong issuer", idp.Token(map[string]any{"sub": "sub-1", "aud": "roster-web", "iss": "https://evil.example"})},
		{"unpublished key", idp.ForeignToken(map[string]any{"sub": "sub-1", "aud": "roster-web"})},
	}
	for _, tc := range bad {
		if p, err := a.Authenticate(ctx, tc.token); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
			t.Errorf("%s: got %v, %v; want unauthorized", tc.name, p, err)
		}
	}
}

// Mapping by username is opt-in: at most IdPs a user picks their own
// preferred_username, and calling oneself "admin" there must not make one
// Roster's admin.
func TestOIDCUsernameMappingOptIn(t *testing.T) {
	idp := authtest.NewIdP(t)
	reg := &fakeRegistry{blocked: map[string]bool{}, lookups: map[string]string{
		"externalid|sub-1|state-sso|sso": "u-ext",
		"username|admin||":               "u-admin",
		"email|carol@example.org||":      "u-carol",
	}}
	ctx := context.Background()
	for _, mapUsername := range []bool{false, true} {
		o, err := NewOIDC(OIDCConfig{Issuer: idp.URL, ClientID: "roster-web", Provider: "state-sso", MapUsername: mapUsername}, reg.FindUserID)
		if err != nil {
			t.Fatal(err)
		}
		a := &Authenticator{Tokens: testTokens(t), OIDC: o, Registry: reg, CacheTTL: -1}

		p, err := a.Authenticate(ctx, idp.Token(map[string]any{"sub": "someone-else", "aud": "roster-web", "preferred_username": "admin"}))
		if mapUsername && (err != nil || p.UserID != "u-admin") {
			t.Errorf("MapUsername on: got %v, %v; want u-admin", p, err)
		}
		if !mapUsername && roster.ErrorCode(err) != roster.EUNAUTHORIZED {
			t.Errorf("MapUsername off: a self-chosen username signed in as %v, %v", p, err)
		}

		// External identity and verified email map either way, and come
		// before the username.
		for _, tc := range []struct {
			claims map[string]any
			want   string
		}{
			{map[string]any{"sub": "sub-1", "aud": "roster-web", "preferred_username": "admin"}, "u-ext"},
			{map[string]any{"sub": "sub-9", "aud": "roster-web", "email": "carol@example.org", "email_verified": "true"}, "u-carol"},
		} {
			if p, err := a.Authenticate(ctx, idp.Token(tc.claims)); err != nil || p.UserID != tc.want {
				t.Errorf("MapUsername %v, %v: got %v, %v; want %s", mapUsername, tc.claims, p, err, tc.want)
			}
		}
	}
}
