package registry

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/store"
)

// CreateOrg creates a tenant (platform operators only) or an organisation
// inside a tenant (that tenant's org admins).
func (s *Service) CreateOrg(ctx context.Context, p *roster.Principal, o roster.Organisation) (*roster.Organisation, error) {
	o.Name, o.Channel = strings.TrimSpace(o.Name), strings.TrimSpace(o.Channel)
	o.ExternalID, o.Provider = strings.TrimSpace(o.ExternalID), strings.TrimSpace(o.Provider)
	var errs []roster.FieldError
	if o.Name == "" || len(o.Name) > 200 {
		errs = append(errs, roster.FieldError{Field: "name", Message: "is required (at most 200 characters)"})
	}
	if o.IsTenant && o.Channel == "" {
		errs = append(errs, roster.FieldError{Field: "channel", Message: "is required for a tenant"})
	}
	if !o.IsTenant && o.RootOrgID == "" {
		errs = append(errs, roster.FieldError{Field: "rootOrgId", Message: "is required for an organisation that is not a tenant"})
	}
	if o.Provider != "" && o.ExternalID == "" {
		errs = append(errs, roster.FieldError{Field: "externalId", Message: "is required when provider is given"})
	}
	for _, id := range o.LocationIDs {
		if _, err := store.GetLocation(ctx, s.db, id); err != nil {
			errs = append(errs, roster.FieldError{Field: "locationIds", Message: "unknown location", Value: id})
		}
	}
	if len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	o.ID = roster.NewID()
	o.IsCustodian = false
	o.Status = roster.StatusActive
	o.CreatedDate = roster.Now()
	if o.IsTenant {
		if err := authz.Decide(p, authz.CreateTenant, authz.Resource{}); err != nil {
			return nil, err
		}
		o.RootOrgID = o.ID
	} else {
		root, err := store.GetOrg(ctx, s.db, o.RootOrgID)
		if errors.Is(err, store.ErrNoRows) || (err == nil && !root.IsTenant) {
			return nil, roster.Invalid(roster.FieldError{Field: "rootOrgId", Message: "is not a tenant"})
		} else if err != nil {
			return nil, err
		}
		if err := authz.Decide(p, authz.CreateOrg, authz.Resource{Tenant: root.ID}); err != nil {
			return nil, err
		}
		if o.Provider == "" {
			o.Provider = root.Channel
		}
	}
	if err := store.InsertOrg(ctx, s.db, &o); errors.Is(err, store.ErrUnique) {
		return nil, &roster.Error{Code: roster.ECONFLICT, Message: "organisation already exists",
			Fields: []roster.FieldError{{Field: "channel", Message: "channel or external id already in use"}}}
	} else if err != nil {
		return nil, err
	}
	return &o, nil
}

// GetOrg returns an organisation to any signed-in user: names and channels
// are not personal data and the upload form needs them.
func (s *Service) GetOrg(ctx context.Context, p *roster.Principal, id string) (*roster.Organisation, error) {
	o, err := store.GetOrg(ctx, s.db, id)
	if err != nil {
		return nil, storeErr(err, "organisation")
	}
	if err := authz.Decide(p, authz.ReadOrg, authz.Resource{Tenant: o.RootOrgID, Org: o.ID}); err != nil {
		return nil, err
	}
	return o, nil
}

// FindOrg finds an organisation by provider (tenant channel) and external
// id, the second way seed 002 names the organisation of an upload.
func (s *Service) FindOrg(ctx context.Context, provider, externalID string) (*roster.Organisation, error) {
	o, err := store.FindOrgByExternalID(ctx, s.db, strings.TrimSpace(provider), strings.TrimSpace(externalID))
	return o, storeErr(err, "organisation")
}

// ListOrgs lists a tenant's organisations to its members.
func (s *Service) ListOrgs(ctx context.Context, p *roster.Principal, rootOrgID string) ([]roster.Organisation, error) {
	if err := authz.Decide(p, authz.ListOrgs, authz.Resource{Tenant: rootOrgID}); err != nil {
		return nil, err
	}
	return store.ListOrgs(ctx, s.db, rootOrgID)
}

// AddMembership adds (or re-activates) a user's membership of an
// organisation with the given roles. Both must be in a tenant p administers.
func (s *Service) AddMembership(ctx context.Context, p *roster.Principal, userID, orgID string, roles []string, assoc int) (*roster.Membership, error) {
	var m *roster.Membership
	err := unlessRaced(true, func() error {
		var err error
		m, err = s.addMembership(ctx, p, userID, orgID, roles, assoc)
		return err
	})
	return m, err
}

func (s *Service) addMembership(ctx context.Context, p *roster.Principal, userID, orgID string, roles []string, assoc int) (*roster.Membership, error) {
	var errs []roster.FieldError
	for _, r := range roles {
		if !roster.IsRole(r) {
			errs = append(errs, roster.FieldError{Field: FieldRoles, Message: "unknown role", Value: r})
		}
	}
	if len(roles) == 0 {
		roles = []string{roster.RolePublic}
	}
	if assoc&^(roster.AssociationSSO|roster.AssociationSelfDeclared|roster.AssociationSystemUpload) != 0 {
		errs = append(errs, roster.FieldError{Field: "associationType", Message: "must combine 1 (SSO), 2 (self-declared) and 4 (system upload)"})
	}
	if len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	var out roster.Membership
	err := store.InTx(ctx, s.db, func(tx store.Tx) error {
		org, user, err := s.memberCheck(ctx, tx, p, userID, orgID, roles)
		if err != nil {
			return err
		}
		now := roster.Now()
		out = roster.Membership{UserID: user.ID, OrganisationID: org.ID, AssociationType: s.association(assoc), Roles: roles,
			IsApproved: true, ApprovalDate: &now, OrgJoinDate: now, UpdatedBy: p.UserID, UpdatedDate: &now}
		existing, err := store.Memberships(ctx, tx, user.ID)
		if err != nil {
			return err
		}
		for _, m := range existing {
			if m.OrganisationID == org.ID && !m.IsDeleted {
				// Changing roles keeps how the user joined; a named type is added.
				out.OrgJoinDate, out.AssociationType = m.OrgJoinDate, s.association(m.AssociationType|assoc)
			}
		}
		if err := store.UpsertMembership(ctx, tx, out); err != nil {
			return err
		}
		if err := touchUser(ctx, tx, user, p.UserID, now); err != nil {
			return err
		}
		return store.Audit(ctx, tx, p.UserID, "membership.add", "user", user.ID, "ok", "org="+org.ID+" roles="+strings.Join(roles, ","))
	})
	return &out, err
}

// RemoveMembership marks the membership left (kept for history).
func (s *Service) RemoveMembership(ctx context.Context, p *roster.Principal, userID, orgID string) error {
	return unlessRaced(true, func() error { return s.removeMembership(ctx, p, userID, orgID) })
}

func (s *Service) removeMembership(ctx context.Context, p *roster.Principal, userID, orgID string) error {
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		_, user, err := s.memberCheck(ctx, tx, p, userID, orgID, nil)
		if err != nil {
			return err
		}
		ms, err := store.Memberships(ctx, tx, userID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.OrganisationID == orgID && !m.IsDeleted {
				now := roster.Now()
				m.IsDeleted, m.OrgLeftDate, m.UpdatedBy, m.UpdatedDate = true, &now, p.UserID, &now
				if err := store.UpsertMembership(ctx, tx, m); err != nil {
					return err
				}
				if err := touchUser(ctx, tx, user, p.UserID, now); err != nil {
					return err
				}
				return store.Audit(ctx, tx, p.UserID, "membership.remove", "user", userID, "ok", "org="+orgID)
			}
		}
		return authz.NotFound("membership")
	})
}

// touchUser records a change of the user's memberships on the user row
// (updatedBy, updatedDate, and a new version, so a copy read before no
// longer passes If-Match).
func touchUser(ctx context.Context, tx store.Tx, rec *store.UserRecord, actorID string, now time.Time) error {
	rec.UpdatedBy, rec.UpdatedDate = actorID, &now
	return store.UpdateUser(ctx, tx, rec)
}

// memberCheck loads the organisation and the user of a membership change
// and asks the policy whether p may give the user roles there (nil roles:
// remove the membership).
func (s *Service) memberCheck(ctx context.Context, q store.Queryer, p *roster.Principal, userID, orgID string, roles []string) (*roster.Organisation, *store.UserRecord, error) {
	org, err := store.GetOrg(ctx, q, orgID)
	if err != nil {
		return nil, nil, storeErr(err, "organisation")
	}
	user, err := store.GetUser(ctx, q, userID)
	if err != nil {
		return nil, nil, storeErr(err, "user")
	}
	subj, err := authz.Subject(ctx, q, user)
	if err != nil {
		return nil, nil, err
	}
	if err := authz.Decide(p, authz.ManageUser, authz.Resource{User: subj}); err != nil {
		return nil, nil, err
	}
	if user.RootOrgID != org.RootOrgID {
		return nil, nil, roster.Invalid(roster.FieldError{Field: "organisationId", Message: "belongs to another tenant than the user"})
	}
	if err := authz.Decide(p, authz.GrantRoles, authz.Resource{Tenant: org.RootOrgID, Org: org.ID, Roles: roles}); err != nil {
		return nil, nil, err
	}
	if user.DeletedDate != nil {
		return nil, nil, roster.Errorf(roster.ECONFLICT, "the user has been deleted")
	}
	return org, user, nil
}

// CreateLocation adds to the location master. Locations are shared by all
// tenants, so only operators and org admins may add them.
func (s *Service) CreateLocation(ctx context.Context, p *roster.Principal, l roster.Location) (*roster.Location, error) {
	if err := authz.Decide(p, authz.CreateLocation, authz.Resource{}); err != nil {
		return nil, err
	}
	l.Code, l.Name, l.Type = strings.TrimSpace(l.Code), strings.TrimSpace(l.Name), strings.ToLower(strings.TrimSpace(l.Type))
	var errs []roster.FieldError
	if l.Code == "" {
		errs = append(errs, roster.FieldError{Field: "code", Message: "is required"})
	}
	if l.Name == "" {
		errs = append(errs, roster.FieldError{Field: "name", Message: "is required"})
	}
	switch l.Type {
	case roster.LocationState:
		if l.ParentID != "" {
			errs = append(errs, roster.FieldError{Field: "parentId", Message: "a state has no parent"})
		}
	case roster.LocationDistrict, roster.LocationBlock, roster.LocationCluster:
		if l.ParentID == "" {
			errs = append(errs, roster.FieldError{Field: "parentId", Message: "is required below state level"})
		} else if _, err := store.GetLocation(ctx, s.db, l.ParentID); err != nil {
			errs = append(errs, roster.FieldError{Field: "parentId", Message: "unknown location"})
		}
	default:
		errs = append(errs, roster.FieldError{Field: "type", Message: "must be state, district, block or cluster"})
	}
	if len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	l.ID = roster.NewID()
	if err := store.InsertLocation(ctx, s.db, &l); errors.Is(err, store.ErrUnique) {
		return nil, &roster.Error{Code: roster.ECONFLICT, Message: "location already exists",
			Fields: []roster.FieldError{{Field: "code", Message: "a " + l.Type + " with this code exists"}}}
	} else if err != nil {
		return nil, err
	}
	return &l, nil
}

// GetLocation reads a location.
func (s *Service) GetLocation(ctx context.Context, id string) (*roster.Location, error) {
	l, err := store.GetLocation(ctx, s.db, id)
	return l, storeErr(err, "location")
}

// ListLocations lists locations of a type and/or under a parent.
func (s *Service) ListLocations(ctx context.Context, typ, parentID string) ([]roster.Location, error) {
	return store.ListLocations(ctx, s.db, typ, parentID)
}
