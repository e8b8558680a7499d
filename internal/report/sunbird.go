package report

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
)

// A layout is a column set of the exhaust: its header and how a resolved
// Row becomes cells. The exporter (which users, what is decrypted, where
// they sit) is the same for every layout.
type layout struct {
	header []string
	// build fills dst with the row's cells in header order, or returns nil
	// to leave the row out of the file.
	build func(r *Row, p Policy, loc *time.Location, dst []string) []string
	// schools: the layout shows the school of every learner, not only
	// the location of state-validated ones.
	schools bool
}

var seedLayout = layout{header: ExhaustHeader,
	build: func(r *Row, p Policy, loc *time.Location, dst []string) []string { return r.Build(p, loc, dst) }}

// SunbirdHeader is the header of Sunbird's userinfo-exhaust as its current
// job writes it: the columnsOrder of
// Sunbird-Lern/data-products lern-data-products/src/main/scala/org/sunbird/lms/exhaust/collection/UserInfoExhaustJob.scala
// (release-7.0, commit 7ca969ba), with the csvColumns its deployment
// config selects (ansible/roles/lern-data-products-deploy/templates/lern-model-config.j2).
var SunbirdHeader = []string{
	"Collection Id", "Collection Name", "Batch Id", "Batch Name", "User UUID", "User Name", "User Type", "User Sub Type",
	"State", "District", "Block", "Cluster", "School Id", "School Name", "Org Name",
	"Email ID", "Mobile Number", "Consent Provided", "Consent Provided Date",
}

// sunbirdDate is Sunbird's Consent Provided Date format:
// BaseCollectionExhaustJob.getUserConsentDF writes
// date_format(last_updated_on, "dd/MM/yyyy").
const sunbirdDate = "02/01/2006"

var sunbirdLayout = layout{header: SunbirdHeader, schools: true, build: (*Row).BuildSunbird}

// BuildSunbird writes the row as Sunbird's job would, or returns nil for a
// learner who does not consent: Sunbird leaves them out of the file
// (UserInfoExhaustJob.applyConsentRules, "Issue #SB-24966: Logic to
// exclude users whose consentflag is false"). Its organizeDF prefixes the
// batch id with "BatchId_" (so spreadsheets keep the long number as text)
// and the consent flag is the string "true". Which personal fields show is
// still the tenant's policy: Sunbird shows them all, which is Roster's
// default policy.
func (r *Row) BuildSunbird(p Policy, loc *time.Location, dst []string) []string {
	if !r.Consented {
		return nil
	}
	if cap(dst) < len(SunbirdHeader) {
		dst = make([]string, len(SunbirdHeader))
	}
	dst = dst[:len(SunbirdHeader)]
	share := r.Shared(p)
	dst[0], dst[1], dst[2], dst[3], dst[4] = r.CourseID, r.CourseName, "BatchId_"+r.BatchID, r.BatchName, r.UserID
	dst[5] = pick(share.UserName, r.Name)
	dst[6], dst[7] = r.UserType, r.UserSubType
	dst[8], dst[9], dst[10], dst[11] = r.State, r.District, r.Block, r.Cluster
	dst[12], dst[13], dst[14] = r.SchoolID, r.SchoolName, r.OrgName
	dst[15] = pick(share.Email, r.Email)
	dst[16] = pick(share.Phone, FormatPhone(r.Phone))
	dst[17], dst[18] = "true", ""
	if !r.ConsentAt.IsZero() {
		dst[18] = r.ConsentAt.In(loc).Format(sunbirdDate)
	}
	return dst
}

// userTypes joins the types and sub-types of a stored profileUserTypes;
// Sunbird's user cache holds them the same way, comma-separated.
func userTypes(stored string) (types, subTypes string) {
	var list []roster.UserType
	if json.Unmarshal([]byte(stored), &list) != nil {
		return "", ""
	}
	var t, s []string
	for _, u := range list {
		if u.Type != "" {
			t = append(t, u.Type)
		}
		if u.SubType != "" {
			s = append(s, u.SubType)
		}
	}
	return strings.Join(t, ","), strings.Join(s, ",")
}

// sunbirdUserInfo is the User Profile Exhaust in Sunbird's layout, for
// deployments whose consumers parse Sunbird's file. The file is named as
// Sunbird names it, <batchId>_userinfo_<yyyyMMdd> (getFilePath).
var sunbirdUserInfo = Kind{
	Name:   roster.ReportSunbirdUserInfo,
	Title:  "User Profile Exhaust (Sunbird layout)",
	Header: SunbirdHeader,
	Rows:   exhaustRows(&sunbirdLayout),
	FileBase: func(r *roster.ReportRequest) string {
		batchID := r.BatchID
		if batchID == "" {
			batchID = "all-batches"
		}
		return batchID + "_userinfo_" + r.RequestedAt.UTC().Format("20060102")
	},
}

// exhaustRows is the exhaust's Rows in layout l.
func exhaustRows(l *layout) func(ctx context.Context, src *Source, write func([]string) error) (Stats, error) {
	return func(ctx context.Context, src *Source, write func([]string) error) (Stats, error) {
		s := src.s
		policy, _, err := s.policy(ctx, src.Course.RootOrgID)
		if err != nil {
			return Stats{}, err
		}
		custodian, err := store.Custodian(ctx, s.db)
		if errors.Is(err, store.ErrNoRows) {
			return Stats{}, permanent("the custodian organisation is missing; start the server once to create it")
		} else if err != nil {
			return Stats{}, err
		}
		e := newExporter(s.db, s.keys, src.Course, policy, s.cfg.TimeZone, src.Snapshot, s.cfg.PageSize, custodian.Name, l)
		for i := range src.Batches {
			if err := e.writeBatch(ctx, write, &src.Batches[i]); err != nil {
				return Stats{}, err
			}
		}
		return e.stats, nil
	}
}
