package report

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/store"
)

// PolicyView is a tenant's report policy as the API shows it.
type PolicyView struct {
	RootOrgID string `json:"rootOrgId"`
	Policy
	// Preset names the preset the policy equals, or "custom".
	Preset      string     `json:"preset"`
	UpdatedBy   string     `json:"updatedBy,omitempty"`
	UpdatedDate *time.Time `json:"updatedDate,omitempty"`
}

func presetName(p Policy) string {
	for _, name := range []string{PresetDefault, PresetSeed} {
		if reflect.DeepEqual(Presets[name], p) {
			return name
		}
	}
	return "custom"
}

// policy returns a tenant's policy, DefaultPolicy when it has none.
func (s *Service) policy(ctx context.Context, rootOrgID string) (Policy, *roster.ReportPolicy, error) {
	row, err := store.GetReportPolicy(ctx, s.db, rootOrgID)
	if errors.Is(err, store.ErrNoRows) {
		return DefaultPolicy, nil, nil
	} else if err != nil {
		return Policy{}, nil, err
	}
	return Policy{SSU: ShareOf(row.SSUFields), SSO: ShareOf(row.SSOFields)}, row, nil
}

func (s *Service) tenant(ctx context.Context, rootOrgID string) (*roster.Organisation, error) {
	o, err := store.GetOrg(ctx, s.db, rootOrgID)
	if errors.Is(err, store.ErrNoRows) || (err == nil && !o.IsTenant) {
		return nil, roster.Errorf(roster.ENOTFOUND, "tenant not found")
	}
	return o, err
}

// GetPolicy returns a tenant's report policy to its admins and its content
// creators (who need to know what their reports will contain).
func (s *Service) GetPolicy(ctx context.Context, p *roster.Principal, rootOrgID string) (*PolicyView, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	t, err := s.tenant(ctx, rootOrgID)
	if err != nil {
		return nil, err
	}
	if err := authz.Decide(p, authz.ReadPolicy, authz.Resource{Tenant: t.ID}); err != nil {
		return nil, err
	}
	pol, row, err := s.policy(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	v := &PolicyView{RootOrgID: t.ID, Policy: pol, Preset: presetName(pol)}
	if row != nil {
		v.UpdatedBy, v.UpdatedDate = row.UpdatedBy, &row.UpdatedDate
	}
	return v, nil
}

// SetPolicy replaces a tenant's report policy; only its org admins may.
// Reports generated afterwards use it; finished files are not rewritten.
func (s *Service) SetPolicy(ctx context.Context, p *roster.Principal, rootOrgID string, pol Policy) (*PolicyView, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	t, err := s.tenant(ctx, rootOrgID)
	if err != nil {
		return nil, err
	}
	if err := authz.Decide(p, authz.ChangePolicy, authz.Resource{Tenant: t.ID}); err != nil {
		s.auditDenied(ctx, p, "report.policy", "organisation", t.ID, "")
		return nil, err
	}
	now := s.Now()
	row := &roster.ReportPolicy{RootOrgID: t.ID, SSUFields: pol.SSU.Fields(), SSOFields: pol.SSO.Fields(),
		UpdatedBy: p.UserID, UpdatedDate: now}
	err = store.InTx(ctx, s.db, func(tx store.Tx) error {
		if err := store.PutReportPolicy(ctx, tx, row); err != nil {
			return err
		}
		return store.Audit(ctx, tx, p.UserID, "report.policy", "organisation", t.ID, "ok", presetName(pol))
	})
	if err != nil {
		return nil, err
	}
	return &PolicyView{RootOrgID: t.ID, Policy: pol, Preset: presetName(pol), UpdatedBy: p.UserID, UpdatedDate: &now}, nil
}

// SetPolicyPreset applies a named preset ("default" or "seed").
func (s *Service) SetPolicyPreset(ctx context.Context, p *roster.Principal, rootOrgID, preset string) (*PolicyView, error) {
	pol, ok := Presets[preset]
	if !ok {
		return nil, roster.Invalid(roster.FieldError{Field: "preset", Message: `must be "default" or "seed"`, Value: preset})
	}
	return s.SetPolicy(ctx, p, rootOrgID, pol)
}
