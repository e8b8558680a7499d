package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/pii"

	"github.com/roster-dev/roster/internal/store"
)

// Stats counts what a report contains.
type Stats struct {
	Rows      int64 `json:"rows"`
	Consented int64 `json:"consented"`
}

// errPermanent marks failures that retrying cannot fix.
type errPermanent struct{ msg string }

func (e *errPermanent) Error() string { return e.msg }

func permanent(format string, args ...any) error { return &errPermanent{fmt.Sprintf(format, args...)} }

// maxCached bounds the location and organisation caches; the location
// master holds a few thousand states and districts, so this is never hit
// in practice but keeps memory flat if it were.
const maxCached = 50000

// maxCachedKeys bounds the data keys a report keeps unwrapped (32 bytes
// each): learners enrolled in several batches of one course are unwrapped
// once.
const maxCachedKeys = 10000

// exporter resolves and writes the rows of one report.
type exporter struct {
	db       store.Queryer
	keys     *pii.UserKeys // this job's unwrapped data keys
	course   *roster.Course
	policy   Policy
	loc      *time.Location
	snapshot time.Time
	pageSize int
	// custodianName is the Org Name of users who are not state-validated:
	// the seed names the custodian for them, wherever the user sits.
	custodianName string

	layout *layout

	locations map[string]*roster.Location // "c/type/code" or "i/id"; nil = not found
	orgs      map[string]*roster.Organisation
	stats     Stats
}

func newExporter(db store.Queryer, keys *pii.Keyring, c *roster.Course, p Policy, loc *time.Location, snapshot time.Time,
	pageSize int, custodianName string, l *layout) *exporter {
	return &exporter{db: db, keys: keys.NewUserKeys(maxCachedKeys), course: c, policy: p, loc: loc, snapshot: snapshot, pageSize: pageSize,
		custodianName: custodianName, layout: l, locations: map[string]*roster.Location{}, orgs: map[string]*roster.Organisation{}}
}

// writeBatch streams one batch's rows, one keyset page at a time.
func (e *exporter) writeBatch(ctx context.Context, write func([]string) error, b *roster.Batch) error {
	var page []store.ReportUser
	cells := make([]string, len(e.layout.header))
	var rows []Row
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		page, err = store.ReportPage(ctx, e.db, e.course.ID, e.course.RootOrgID, b.ID, e.snapshot, after, e.pageSize, page)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if rows, err = e.resolvePage(ctx, b, page, rows); err != nil {
			return err
		}
		for i := range rows {
			out := e.layout.build(&rows[i], e.policy, e.loc, cells)
			if out == nil {
				continue
			}
			if err := write(out); err != nil {
				return err
			}
			e.stats.Rows++
			if rows[i].Consented {
				e.stats.Consented++
			}
		}
		if len(page) < e.pageSize {
			return nil
		}
		after = page[len(page)-1].UserID
	}
}

// resolvePage turns a page of stored users into rows: it decrypts only the
// personal fields the row will show, and fetches school locations and
// external ids for the whole page in one query each.
func (e *exporter) resolvePage(ctx context.Context, b *roster.Batch, page []store.ReportUser, rows []Row) ([]Row, error) {
	rows = rows[:0]
	var needSchool, needExtID []string
	userKeys := make([]*pii.UserKey, len(page))
	for i := range page {
		u := &page[i]
		r := Row{CourseID: e.course.ID, CourseName: e.course.Name, BatchID: b.ID, BatchName: b.Name, UserID: u.UserID,
			OrgName: u.RootOrgName, Validated: stateValidated(u),
			// An erased user's consent ended with them: their row stays
			// for the counts, with nothing personal in it.
			Consented: u.ConsentStatus == roster.ConsentActive && !u.Erased}
		if !r.Validated && e.custodianName != "" {
			r.OrgName = e.custodianName
		}
		if r.Consented && u.ConsentAt != nil {
			r.ConsentAt = *u.ConsentAt
		}
		share := r.Shared(e.policy)
		if share.UserName {
			r.Name = FullName(u.FirstName, u.LastName)
		}
		var keys *pii.UserKey
		var err error
		if share.Email || share.Phone || share.ExternalID { // most rows open nothing: no key for them
			if keys, err = e.keys.Get(u.UserID, u.KeyWrapped); err != nil {
				return nil, permanent("a learner's data key could not be unwrapped; check the PII keys")
			}
			userKeys[i] = keys
		}
		if share.Email {
			if r.Email, err = keys.Open(u.EmailEnc, pii.UserField(u.UserID, pii.FieldEmail)); err != nil {
				return nil, permanent("a learner's email address could not be decrypted; check the PII keys")
			}
		}
		if share.Phone {
			if r.Phone, err = keys.Open(u.PhoneEnc, pii.UserField(u.UserID, pii.FieldPhone)); err != nil {
				return nil, permanent("a learner's phone number could not be decrypted; check the PII keys")
			}
		}
		if u.ProfileUserTypes != "" {
			r.UserType, r.UserSubType = userTypes(u.ProfileUserTypes)
		}
		if r.Validated || e.layout.schools {
			needSchool = append(needSchool, u.UserID)
		}
		if share.ExternalID {
			needExtID = append(needExtID, u.UserID)
		}
		rows = append(rows, r)
	}
	schools, err := store.SchoolLocationsFor(ctx, e.db, needSchool)
	if err != nil {
		return nil, err
	}
	schoolOf := make(map[string]string, len(schools))
	schoolNamed := make(map[string]store.SchoolLocation, len(schools))
	for _, s := range schools {
		if _, seen := schoolNamed[s.UserID]; !seen { // earliest joined school wins
			schoolNamed[s.UserID] = s
		}
		if _, seen := schoolOf[s.UserID]; !seen && s.LocationIDs != "" && s.LocationIDs != "[]" {
			schoolOf[s.UserID] = s.LocationIDs
		}
	}
	extIDs, err := store.ExternalIDsFor(ctx, e.db, needExtID)
	if err != nil {
		return nil, err
	}
	extIDsOf := map[string][]store.ExternalIDRow{}
	for _, x := range extIDs {
		extIDsOf[x.UserID] = append(extIDsOf[x.UserID], x)
	}
	for i := range rows {
		r, u := &rows[i], &page[i]
		if sch, ok := schoolNamed[u.UserID]; ok && e.layout.schools {
			r.SchoolID, r.SchoolName = sch.ExternalID, sch.OrgName
		}
		if err := e.place(ctx, r, u, schoolOf[u.UserID]); err != nil {
			return nil, err
		}
		if r.ExternalID, err = e.externalID(ctx, userKeys[i], u, extIDsOf[u.UserID]); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// stateValidated is seed 000's state-validated user: the tenant bit of
// flagsValue (uploaded by the tenant, signed in through its SSO, or
// approved) and a membership of the tenant that says so now: made by SSO
// or upload, or a self-declaration the state approved. A self-declared
// user still waiting, or rejected, is reported as self-signed-up.
func stateValidated(u *store.ReportUser) bool {
	return u.FlagsValue&roster.FlagTenantVerified != 0 && u.TenantApproved
}

// place fills State and District. Self-signed-up users get what they
// declared (profileLocation). For state-validated users the seed takes the
// state's data or the school's: the school's location first, then the
// tenant's own location for the state, then whatever the user declared
// (which for SSO users is what the state system passed).
func (e *exporter) place(ctx context.Context, r *Row, u *store.ReportUser, schoolIDs string) error {
	var refs []roster.LocationRef
	if u.ProfileLocation != "" {
		// A malformed value is treated as no location rather than failing
		// the whole report for one profile.
		_ = json.Unmarshal([]byte(u.ProfileLocation), &refs)
	}
	declared, err := e.namesByRef(ctx, refs)
	if err != nil {
		return err
	}
	if !r.Validated {
		r.State, r.District, r.Block, r.Cluster = declared.state, declared.district, declared.block, declared.cluster
		return nil
	}
	var ids []string
	if schoolIDs != "" {
		_ = json.Unmarshal([]byte(schoolIDs), &ids)
	}
	school, err := e.namesByID(ctx, ids)
	if err != nil {
		return err
	}
	if school.state == "" {
		tenant, err := e.org(ctx, u.RootOrgID)
		if err != nil {
			return err
		}
		if tenant != nil {
			t, err := e.namesByID(ctx, tenant.LocationIDs)
			if err != nil {
				return err
			}
			school.state = t.state
		}
	}
	r.State, r.District = firstNonEmpty(school.state, declared.state), firstNonEmpty(school.district, declared.district)
	r.Block, r.Cluster = firstNonEmpty(school.block, declared.block), firstNonEmpty(school.cluster, declared.cluster)
	return nil
}

// place names the levels of the location master a row shows.
type place struct{ state, district, block, cluster string }

func (p *place) complete() bool {
	return p.state != "" && p.district != "" && p.block != "" && p.cluster != ""
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (e *exporter) namesByRef(ctx context.Context, refs []roster.LocationRef) (place, error) {
	var locs []*roster.Location
	for _, ref := range refs {
		typ := strings.ToLower(strings.TrimSpace(ref.Type))
		l, err := e.location(ctx, "c/"+typ+"/"+ref.Code, func() (*roster.Location, error) {
			return store.LocationByTypeCode(ctx, e.db, typ, strings.TrimSpace(ref.Code))
		})
		if err != nil {
			return place{}, err
		}
		locs = append(locs, l)
	}
	return e.names(ctx, locs)
}

func (e *exporter) namesByID(ctx context.Context, ids []string) (place, error) {
	var locs []*roster.Location
	for _, id := range ids {
		l, err := e.locationByID(ctx, id)
		if err != nil {
			return place{}, err
		}
		locs = append(locs, l)
	}
	return e.names(ctx, locs)
}

// names names the state, district, block and cluster of a set of
// locations, walking up from clusters and blocks (or from a district to
// its state) when the list does not name them directly.
func (e *exporter) names(ctx context.Context, locs []*roster.Location) (place, error) {
	var p place
	var err error
	for _, l := range locs {
		for depth := 0; l != nil && depth < 4; depth++ {
			var slot *string
			switch l.Type {
			case roster.LocationState:
				slot = &p.state
			case roster.LocationDistrict:
				slot = &p.district
			case roster.LocationBlock:
				slot = &p.block
			case roster.LocationCluster:
				slot = &p.cluster
			}
			if slot != nil && *slot == "" {
				*slot = l.Name
			}
			if l.ParentID == "" || p.complete() {
				break
			}
			if l, err = e.locationByID(ctx, l.ParentID); err != nil {
				return place{}, err
			}
		}
	}
	return p, nil
}

func (e *exporter) locationByID(ctx context.Context, id string) (*roster.Location, error) {
	return e.location(ctx, "i/"+id, func() (*roster.Location, error) { return store.GetLocation(ctx, e.db, id) })
}

func (e *exporter) location(ctx context.Context, key string, load func() (*roster.Location, error)) (*roster.Location, error) {
	if l, ok := e.locations[key]; ok {
		return l, nil
	}
	l, err := load()
	if errors.Is(err, store.ErrNoRows) {
		l, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(e.locations) < maxCached {
		e.locations[key] = l
	}
	return l, nil
}

func (e *exporter) org(ctx context.Context, id string) (*roster.Organisation, error) {
	if o, ok := e.orgs[id]; ok {
		return o, nil
	}
	o, err := store.GetOrg(ctx, e.db, id)
	if errors.Is(err, store.ErrNoRows) {
		o, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(e.orgs) < maxCached {
		e.orgs[id] = o
	}
	return o, nil
}

// externalID picks the identity the user holds with their own tenant (the
// state teacher id of an SSO user) or, failing that, with the course's
// tenant (what a self-signed-up user declared to the state). Within one
// provider an id type equal to the provider (the seed's convention for
// state ids) is preferred, then the first id type.
func (e *exporter) externalID(ctx context.Context, keys *pii.UserKey, u *store.ReportUser, mine []store.ExternalIDRow) (string, error) {
	if len(mine) == 0 || keys == nil {
		return "", nil
	}
	var tenants []*roster.Organisation
	for _, id := range []string{u.RootOrgID, e.course.RootOrgID} {
		o, err := e.org(ctx, id)
		if err != nil {
			return "", err
		}
		if o != nil {
			tenants = append(tenants, o)
		}
	}
	for _, t := range tenants {
		providers := []string{strings.ToLower(t.Channel), strings.ToLower(t.ID)}
		var best *store.ExternalIDRow
		for i := range mine {
			x := &mine[i]
			if x.Provider != providers[0] && x.Provider != providers[1] {
				continue
			}
			if best == nil || (x.IDType == x.Provider && best.IDType != best.Provider) {
				best = x
			}
		}
		if best != nil {
			v, err := keys.Open(best.Enc, pii.ExternalID(best.Provider, best.IDType, best.UserID))
			if err != nil {
				return "", permanent("a learner's external id could not be decrypted; check the PII keys")
			}
			return v, nil
		}
	}
	return "", nil
}
