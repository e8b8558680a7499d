package httpapi

import (
	"context"
	"net/http"

	"github.com/roster-dev/roster"
)

type orgBody struct {
	Name        string   `json:"name" maxLength:"200"`
	Channel     string   `json:"channel,omitempty" maxLength:"100" doc:"Required for a tenant"`
	IsTenant    bool     `json:"isTenant,omitempty" doc:"Tenants (root organisations) can only be created by an operator with 'roster org create --tenant'"`
	RootOrgID   string   `json:"rootOrgId,omitempty" maxLength:"64" doc:"The tenant of a non-tenant organisation"`
	ExternalID  string   `json:"externalId,omitempty" maxLength:"100"`
	Provider    string   `json:"provider,omitempty" maxLength:"100" doc:"Defaults to the tenant's channel"`
	LocationIDs []string `json:"locationIds,omitempty" maxItems:"100"`
}

type orgOutput struct {
	Body *roster.Organisation
}

type orgListOutput struct {
	Body struct {
		Organisations []roster.Organisation `json:"organisations"`
	}
}

type locationBody struct {
	Code     string `json:"code" maxLength:"50"`
	Name     string `json:"name" maxLength:"200"`
	Type     string `json:"type" enum:"state,district,block,cluster"`
	ParentID string `json:"parentId,omitempty" maxLength:"64"`
}

type locationOutput struct {
	Body *roster.Location
}

type locationListOutput struct {
	Body struct {
		Locations []roster.Location `json:"locations"`
	}
}

type membershipInput struct {
	OrgID  string `path:"orgId" maxLength:"64"`
	UserID string `path:"userId" maxLength:"64"`
}

type membershipOutput struct {
	Body *roster.Membership
}

func (s *Server) orgRoutes() {
	create := described(op("createOrganisation", http.MethodPost, "/organisations", "Create an organisation in your tenant", "organisations"),
		"Creates a school or other organisation in your tenant; you need the tenant's org admin role.")
	create.DefaultStatus = http.StatusCreated
	create.Errors = append(create.Errors, http.StatusConflict)
	register(s, create, s.createOrganisation)

	get := described(op("getOrganisation", http.MethodGet, "/organisations/{id}", "Read an organisation", "organisations"),
		"One organisation of your tenant; other tenants' organisations are not found.")
	get.Errors = append(get.Errors, http.StatusNotFound)
	register(s, get, s.getOrganisation)

	register(s, described(op("listOrganisations", http.MethodGet, "/organisations", "List a tenant's organisations", "organisations"),
		"The organisations (the tenant and its schools) of your tenant."),
		s.listOrganisations)

	createLoc := described(op("createLocation", http.MethodPost, "/locations", "Add a location (state, district, block, cluster)", "locations"),
		"Adds a location under its parent in the hierarchy state > district > block > cluster.")
	createLoc.DefaultStatus = http.StatusCreated
	createLoc.Errors = append(createLoc.Errors, http.StatusConflict)
	register(s, createLoc, s.createLocation)

	getLoc := described(op("getLocation", http.MethodGet, "/locations/{id}", "Read a location", "locations"),
		"One location of your tenant.")
	getLoc.Errors = append(getLoc.Errors, http.StatusNotFound)
	register(s, getLoc, s.getLocation)

	register(s, described(op("listLocations", http.MethodGet, "/locations", "List locations by type and/or parent", "locations"),
		"Locations of your tenant, filtered by type (state, district, block, cluster) and/or parent."),
		s.listLocations)

	add := described(op("putMembership", http.MethodPut, "/organisations/{orgId}/members/{userId}", "Add a user to an organisation or replace their roles there", "organisations"),
		"Adds a user to an organisation with the given roles, or replaces the roles they hold there.")
	add.Errors = append(add.Errors, http.StatusNotFound)
	register(s, add, s.putMembership)

	remove := described(op("deleteMembership", http.MethodDelete, "/organisations/{orgId}/members/{userId}", "Remove a user from an organisation", "organisations"),
		"Removes a user from an organisation; the membership stays in the user's organisation history.")
	remove.DefaultStatus = http.StatusNoContent
	remove.Errors = append(remove.Errors, http.StatusNotFound)
	register(s, remove, s.deleteMembership)
}
func (s *Server) createOrganisation(ctx context.Context, in *struct{ Body orgBody }) (*orgOutput, error) {
	b := in.Body
	o, err := s.reg.CreateOrg(ctx, caller(ctx), roster.Organisation{
		Name: b.Name, Channel: b.Channel, IsTenant: b.IsTenant, RootOrgID: b.RootOrgID,
		ExternalID: b.ExternalID, Provider: b.Provider, LocationIDs: b.LocationIDs,
	})
	if err != nil {
		return nil, err
	}
	return &orgOutput{Body: o}, nil
}

func (s *Server) getOrganisation(ctx context.Context, in *struct {
	ID string `path:"id" maxLength:"64"`
}) (*orgOutput, error) {
	o, err := s.reg.GetOrg(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &orgOutput{Body: o}, nil
}

func (s *Server) listOrganisations(ctx context.Context, in *struct {
	RootOrgID string `query:"rootOrgId" maxLength:"64" doc:"Defaults to the caller's tenant"`
}) (*orgListOutput, error) {
	p := caller(ctx)
	root := in.RootOrgID
	if root == "" {
		root = p.RootOrgID
	}
	orgs, err := s.reg.ListOrgs(ctx, p, root)
	if err != nil {
		return nil, err
	}
	out := &orgListOutput{}
	out.Body.Organisations = orgs
	return out, nil
}

func (s *Server) createLocation(ctx context.Context, in *struct{ Body locationBody }) (*locationOutput, error) {
	b := in.Body
	l, err := s.reg.CreateLocation(ctx, caller(ctx), roster.Location{Code: b.Code, Name: b.Name, Type: b.Type, ParentID: b.ParentID})
	if err != nil {
		return nil, err
	}
	return &locationOutput{Body: l}, nil
}

func (s *Server) getLocation(ctx context.Context, in *struct {
	ID string `path:"id" maxLength:"64"`
}) (*locationOutput, error) {
	l, err := s.reg.GetLocation(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &locationOutput{Body: l}, nil
}

func (s *Server) listLocations(ctx context.Context, in *struct {
	Type     string `query:"type" enum:"state,district,block,cluster,"`
	ParentID string `query:"parentId" maxLength:"64"`
}) (*locationListOutput, error) {
	ls, err := s.reg.ListLocations(ctx, in.Type, in.ParentID)
	if err != nil {
		return nil, err
	}
	out := &locationListOutput{}
	out.Body.Locations = ls
	return out, nil
}

func (s *Server) putMembership(ctx context.Context, in *struct {
	OrgID  string `path:"orgId" maxLength:"64"`
	UserID string `path:"userId" maxLength:"64"`
	Body   struct {
		Roles           []string `json:"roles,omitempty" maxItems:"20" doc:"PUBLIC when empty"`
		AssociationType int      `json:"associationType,omitempty" doc:"Bit mask: 1 SSO, 2 self-declared, 4 system upload"`
	}
}) (*membershipOutput, error) {
	m, err := s.reg.AddMembership(ctx, caller(ctx), in.UserID, in.OrgID, in.Body.Roles, in.Body.AssociationType)
	if err != nil {
		return nil, err
	}
	s.auth.Forget(in.UserID)
	return &membershipOutput{Body: m}, nil
}

func (s *Server) deleteMembership(ctx context.Context, in *membershipInput) (*struct{}, error) {
	if err := s.reg.RemoveMembership(ctx, caller(ctx), in.UserID, in.OrgID); err != nil {
		return nil, err
	}
	s.auth.Forget(in.UserID)
	return nil, nil
}
