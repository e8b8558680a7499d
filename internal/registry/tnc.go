package registry

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/store"
)

// Fields and messages of terms and conditions.
const (
	FieldTncKind = "kind"
	FieldVersion = "version"
	FieldTncURL  = "url"

	MsgTncKind       = "must be platform, orgAdminTnc or reportViewerTnc"
	MsgTncVersion    = "must be 1 to 32 of A-Z a-z 0-9 . _ -"
	MsgTncURL        = "must be an http or https address of at most 2048 characters"
	MsgTncPublished  = "this version of these terms is already published"
	MsgTncNotCurrent = "is not the current version of these terms; reload them and accept the version shown"
	MsgTncNone       = "no terms of this kind are published"
)

// Bounds of a published version.
const (
	maxTncVersion = 32
	maxTncURL     = 2048
)

// PublishTnc makes version the current version of kind's terms: every user
// they apply to must accept it before what the terms cover is allowed again.
// Only operators (roster tnc publish) publish: the terms are the platform's,
// not a tenant's.
func (s *Service) PublishTnc(ctx context.Context, p *roster.Principal, kind, version, link string) (*roster.TncVersion, error) {
	if err := authz.Decide(p, authz.PublishTnc, authz.Resource{}); err != nil {
		return nil, err
	}
	if errs := checkTnc(kind, version, link); len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	v := roster.TncVersion{Kind: kind, Version: version, URL: link, PublishedAt: roster.Now(), PublishedBy: p.UserID}
	err := store.InTx(ctx, s.db, func(tx store.Tx) error {
		if err := store.InsertTncVersion(ctx, tx, v); err != nil {
			return err
		}
		return store.Audit(ctx, tx, p.UserID, "tnc.publish", "tnc", kind, "ok", "version")
	})
	if errors.Is(err, store.ErrUnique) {
		return nil, &roster.Error{Code: roster.ECONFLICT, Message: MsgTncPublished,
			Fields: []roster.FieldError{{Field: FieldVersion, Message: MsgTncPublished, Value: version}}}
	}
	return &v, err
}

func checkTnc(kind, version, link string) []roster.FieldError {
	var errs []roster.FieldError
	if !roster.IsTncKind(kind) {
		errs = append(errs, roster.FieldError{Field: FieldTncKind, Message: MsgTncKind})
	}
	if !validTncVersion(version) {
		errs = append(errs, roster.FieldError{Field: FieldVersion, Message: MsgTncVersion})
	}
	if u, err := url.Parse(link); len(link) > maxTncURL || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, roster.FieldError{Field: FieldTncURL, Message: MsgTncURL})
	}
	return errs
}

func validTncVersion(v string) bool {
	if v == "" || len(v) > maxTncVersion {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// CurrentTnc returns the current version of every published kind. It is
// public: users read the terms before they sign in or sign up.
func (s *Service) CurrentTnc(ctx context.Context) ([]roster.TncVersion, error) {
	return store.CurrentTncVersions(ctx, s.db)
}

// AcceptTnc records that p accepted version of kind's terms, which must
// be the current one: seed 001's tncAcceptedVersion and tncAcceptedOn for
// the platform terms, allTncAccepted[kind] for the others.
func (s *Service) AcceptTnc(ctx context.Context, p *roster.Principal, kind, version string) error {
	if p == nil {
		return authz.Unauthenticated()
	}
	if !roster.IsTncKind(kind) {
		return roster.Invalid(roster.FieldError{Field: FieldTncKind, Message: MsgTncKind})
	}
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		rec, err := store.GetUser(ctx, tx, p.UserID)
		if err != nil {
			return storeErr(err, "user")
		}
		if err := authz.Decide(p, authz.AcceptTnc, authz.Resource{User: &authz.User{ID: rec.ID, RootOrgID: rec.RootOrgID}}); err != nil {
			return err
		}
		current, err := store.CurrentTncVersions(ctx, tx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(current, func(v roster.TncVersion) bool { return v.Kind == kind })
		if i < 0 {
			return roster.Invalid(roster.FieldError{Field: FieldTncKind, Message: MsgTncNone})
		}
		if current[i].Version != version {
			return roster.Invalid(roster.FieldError{Field: FieldVersion, Message: MsgTncNotCurrent})
		}
		u := &rec.User
		now := roster.Now()
		recordTnc(u, kind, version, now)
		u.UpdatedBy, u.UpdatedDate = p.UserID, &now
		if err := store.SetUserTnc(ctx, tx, u); err != nil {
			return err
		}
		return store.Audit(ctx, tx, p.UserID, "tnc.accept", "user", u.ID, "ok", "kind="+kind)
	})
}

// recordTnc writes an acceptance in the seed's shape.
func recordTnc(u *roster.User, kind, version string, at time.Time) {
	if kind == roster.TncPlatform {
		u.TncAcceptedVersion, u.TncAcceptedOn = version, &at
		return
	}
	if u.AllTncAccepted == nil {
		u.AllTncAccepted = map[string]roster.TncAcceptance{}
	}
	u.AllTncAccepted[kind] = roster.TncAcceptance{Version: version, TncAcceptedOn: tncTime(at)}
}

// tncTime is the seed's timestamp format of allTncAccepted
// ("2020-11-26 08:17:59:547+0000").
func tncTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05") + ":" + t.UTC().Format("000") + "+0000"
}

// pendingTnc lists the kinds that apply to p whose current version u has
// not accepted. Nothing is pending while no terms are published.
func pendingTnc(current []roster.TncVersion, u *roster.User, p *roster.Principal) []string {
	if len(current) == 0 {
		return nil
	}
	var out []string
	for _, kind := range authz.TncFor(p) {
		i := slices.IndexFunc(current, func(v roster.TncVersion) bool { return v.Kind == kind })
		if i >= 0 && u.AcceptedTnc(kind) != current[i].Version {
			out = append(out, kind)
		}
	}
	return out
}
