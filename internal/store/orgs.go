package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/roster-dev/roster"
)

const orgColumns = `id, name, channel, is_tenant, is_custodian, root_org_id, external_id, provider, location_ids, status, created_date`

func scanOrg(row Row) (*roster.Organisation, error) {
	var o roster.Organisation
	var channel, externalID, provider sql.NullString
	var locationIDs string
	if err := row.Scan(&o.ID, &o.Name, &channel, &o.IsTenant, &o.IsCustodian, &o.RootOrgID, &externalID,
		&provider, &locationIDs, &o.Status, &o.CreatedDate); err != nil {
		return nil, err
	}
	o.Channel, o.ExternalID, o.Provider = channel.String, externalID.String, provider.String
	o.CreatedDate = o.CreatedDate.UTC()
	return &o, json.Unmarshal([]byte(locationIDs), &o.LocationIDs)
}

// InsertOrg writes a new organisation.
func InsertOrg(ctx context.Context, q Queryer, o *roster.Organisation) error {
	_, err := q.Exec(ctx, insertSQL(`organisation`, orgColumns),
		o.ID, o.Name, NullString(o.Channel), o.IsTenant, o.IsCustodian, o.RootOrgID, NullString(o.ExternalID),
		NullString(o.Provider), JSONText(o.LocationIDs, "[]"), o.Status, o.CreatedDate)
	return err
}

// GetOrg reads one organisation.
func GetOrg(ctx context.Context, q Queryer, id string) (*roster.Organisation, error) {
	return scanOrg(q.QueryRow(ctx, `SELECT `+orgColumns+` FROM organisation WHERE id = $1`, id))
}

// Custodian returns the custodian organisation (root of self-signed-up users).
func Custodian(ctx context.Context, q Queryer) (*roster.Organisation, error) {
	return scanOrg(q.QueryRow(ctx, `SELECT `+orgColumns+` FROM organisation WHERE is_custodian`))
}

// FindOrgByExternalID finds an organisation by the provider (tenant channel)
// and the organisation's external id, as seed 002's upload form allows.
func FindOrgByExternalID(ctx context.Context, q Queryer, provider, externalID string) (*roster.Organisation, error) {
	return scanOrg(q.QueryRow(ctx, `SELECT `+orgColumns+` FROM organisation
		WHERE lower(provider) = lower($1) AND lower(external_id) = lower($2)`, provider, externalID))
}

// ListOrgs lists the organisations of a tenant (the tenant itself first).
func ListOrgs(ctx context.Context, q Queryer, rootOrgID string) ([]roster.Organisation, error) {
	return queryAll(ctx, q, scanOrg, `SELECT `+orgColumns+` FROM organisation WHERE root_org_id = $1
		ORDER BY is_tenant DESC, name, id`, rootOrgID)
}

// InsertLocation writes a location.
func InsertLocation(ctx context.Context, q Queryer, l *roster.Location) error {
	_, err := q.Exec(ctx, `INSERT INTO location (id, code, name, type, parent_id) VALUES ($1, $2, $3, $4, $5)`,
		l.ID, l.Code, l.Name, l.Type, NullString(l.ParentID))
	return err
}

func scanLocation(row Row) (*roster.Location, error) {
	var l roster.Location
	var parent sql.NullString
	if err := row.Scan(&l.ID, &l.Code, &l.Name, &l.Type, &parent); err != nil {
		return nil, err
	}
	l.ParentID = parent.String
	return &l, nil
}

// GetLocation reads a location by id.
func GetLocation(ctx context.Context, q Queryer, id string) (*roster.Location, error) {
	return scanLocation(q.QueryRow(ctx, `SELECT id, code, name, type, parent_id FROM location WHERE id = $1`, id))
}

// ListLocations lists locations, optionally of one type and/or parent.
func ListLocations(ctx context.Context, q Queryer, typ, parentID string) ([]roster.Location, error) {
	return queryAll(ctx, q, scanLocation, `SELECT id, code, name, type, parent_id FROM location
		WHERE ($1 = '' OR type = $1) AND ($2 = '' OR parent_id = $2) ORDER BY type, name`, typ, parentID)
}

// TenantByChannel finds the tenant (state) whose channel is channel, as
// an identity provider names it; the custodian is nobody's state.
func TenantByChannel(ctx context.Context, q Queryer, channel string) (*roster.Organisation, error) {
	return scanOrg(q.QueryRow(ctx, `SELECT `+orgColumns+` FROM organisation
		WHERE is_tenant AND NOT is_custodian AND lower(channel) = lower($1)`, channel))
}
