package auth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/roster-dev/roster"
)

// Registry is what authentication needs from the user registry.
type Registry interface {
	Authenticate(ctx context.Context, login, password string) (*roster.Principal, error)
	Principal(ctx context.Context, userID string) (*roster.Principal, error)
}

// DefaultCacheTTL bounds how stale a principal may be. Changes made through
// this process's API are applied at once (the API calls Forget); the TTL only
// matters for changes made by another replica or the CLI.
const DefaultCacheTTL = 5 * time.Second

// Authenticator turns bearer tokens into principals.
type Authenticator struct {
	Tokens   *Tokens
	OIDC     *OIDC // nil when no external IdP is configured
	Registry Registry
	CacheTTL time.Duration // 0 means DefaultCacheTTL, < 0 disables the cache

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	p   *roster.Principal
	exp time.Time
}

// Unauthorized is the error every failed authentication returns; the reason
// stays server-side.
var Unauthorized = &roster.Error{Code: roster.EUNAUTHORIZED, Message: "authentication required"}

// Login checks a password and issues a token.
func (a *Authenticator) Login(ctx context.Context, login, password string) (token string, exp time.Time, p *roster.Principal, err error) {
	p, err = a.Registry.Authenticate(ctx, login, password)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	token, exp, err = a.Tokens.Issue(p.UserID, p.SessionGeneration)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	a.Forget(p.UserID)
	return token, exp, p, nil
}

// Reissue gives a caller whose sessions were just ended (by changing their
// own password) a token for the new generation, so the client that made
// the change stays signed in.
func (a *Authenticator) Reissue(ctx context.Context, userID string) (token string, exp time.Time, p *roster.Principal, err error) {
	a.Forget(userID)
	if p, err = a.principal(ctx, userID); err != nil {
		return "", time.Time{}, nil, err
	}
	token, exp, err = a.Tokens.Issue(userID, p.SessionGeneration)
	return token, exp, p, err
}

// Authenticate verifies a bearer token (Roster's own, else the IdP's) and
// returns the caller with roles as they are now.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*roster.Principal, error) {
	if token == "" {
		return nil, Unauthorized
	}
	userID, gen, err := a.Tokens.Verify(token)
	own := err == nil
	if err != nil && a.OIDC != nil {
		userID, err = a.OIDC.UserID(ctx, token)
	}
	if err != nil {
		if errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrNoUser) {
			return nil, Unauthorized
		}
		return nil, err
	}
	p, err := a.principal(ctx, userID)
	if err != nil {
		return nil, err
	}
	// A password change since the token was issued ended its session. The
	// IdP's own tokens are the IdP's to revoke: a Roster password is not
	// what they prove.
	if own && gen != p.SessionGeneration {
		return nil, Unauthorized
	}
	return p, nil
}

func (a *Authenticator) principal(ctx context.Context, userID string) (*roster.Principal, error) {
	ttl := a.CacheTTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	now := time.Now()
	if ttl > 0 {
		a.mu.Lock()
		c, ok := a.cache[userID]
		a.mu.Unlock()
		if ok && now.Before(c.exp) {
			return c.p, nil
		}
	}
	p, err := a.Registry.Principal(ctx, userID)
	switch roster.ErrorCode(err) {
	case "":
	case roster.ENOTFOUND, roster.EUNAUTHORIZED, roster.EFORBIDDEN:
		// Deleted or blocked since the token was issued.
		return nil, Unauthorized
	default:
		return nil, err
	}
	if ttl > 0 {
		a.mu.Lock()
		if a.cache == nil || len(a.cache) > 10000 {
			a.cache = map[string]cached{}
		}
		a.cache[userID] = cached{p: p, exp: now.Add(ttl)}
		a.mu.Unlock()
	}
	return p, nil
}

// Forget drops a cached principal after its roles or status changed.
func (a *Authenticator) Forget(userID string) {
	a.mu.Lock()
	delete(a.cache, userID)
	a.mu.Unlock()
}
