package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/otp"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// The authorization matrix: every operation of the served OpenAPI
// document, called by every caller of authz.Callers on each target its
// rows name, must give the outcome authz.Table says. The table is the
// policy's documentation (docs/security.md), so the server and the
// document cannot drift apart, and an operation added without rows fails
// here.
func TestAuthorizationMatrix(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newMatrixWorld(t, db)
		served := map[string]*huma.Operation{}
		for _, item := range w.e.api.API().OpenAPI().Paths {
			for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
				if op != nil {
					served[op.OperationID] = op
				}
			}
		}
		rows := map[string]int{}
		for _, r := range authz.Table {
			rows[r.Operation]++
			op := served[r.Operation]
			if op == nil {
				t.Errorf("authz.Table has a row for %q, which the server does not serve", r.Operation)
				continue
			}
			build := matrixRequests[r.Operation]
			if build == nil {
				t.Errorf("%s: no request in matrixRequests", r.Operation)
				continue
			}
			for _, c := range authz.Callers {
				tgt := w.target(r.Target)
				req := build(w, tgt)
				if req.method != op.Method || !pathPattern(op.Path).MatchString(strings.SplitN(req.path, "?", 2)[0]) {
					t.Fatalf("%s: request %s %s does not match %s %s", r.Operation, req.method, req.path, op.Method, op.Path)
				}
				got := w.call(c, tgt, req)
				if want := r.Expect(c); got != want {
					t.Errorf("%s on %s as %s: %s, want %s", r.Operation, r.Target, c, got, want)
				}
			}
		}
		for id := range served {
			if rows[id] == 0 {
				t.Errorf("operation %q has no rows in authz.Table", id)
			}
		}
	})
}

func pathPattern(p string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(p), "[^/]+") + "$")
}

// matrixWorld is tenant A with schools 1 and 2, tenant B, one caller of
// each kind, a course with a batch, a finished report and an upload.
type matrixWorld struct {
	t       *testing.T
	e       *env
	school2 *roster.Organisation
	tokens  map[authz.Caller]string
	// callerIDs lets a call sign in afresh: changeOwnPassword ends the
	// caller's earlier tokens.
	callerIDs        map[authz.Caller]string
	courseID         string
	batchID          string
	reportID, dlLink string
	uploadID         string
	locationID       string
	n                int
}

type matrixTarget struct {
	kind      string // an authz target
	id, email string // the target user, when the target is one
	declID    string // the target user's pending declaration
}

// roles is what a request that grants roles grants on this target.
func (t *matrixTarget) roles() []string {
	if t.kind == authz.School1Admin || t.kind == authz.PupilAsAdmin {
		return []string{roster.RoleOrgAdmin}
	}
	return []string{roster.RoleCourseMentor}
}

type matrixRequest struct {
	method, path string
	body         any
	csv          string // sent as a multipart upload to path when set
}

const matrixTncVersion = "matrix-1"

func newMatrixWorld(t *testing.T, db store.Engine) *matrixWorld {
	e := newEnv(t, db, withJobs, withSignUp(false, func(c *otp.Service) { c.PerClientPerHour = 1000 }))
	ctx := context.Background()
	w := &matrixWorld{t: t, e: e, tokens: map[authz.Caller]string{}, callerIDs: map[authz.Caller]string{}}
	// Platform terms exist so that accepting them can succeed; they gate
	// nothing, so the rest of the matrix is unchanged.
	if _, err := e.reg.PublishTnc(ctx, roster.SystemPrincipal, roster.TncPlatform, matrixTncVersion, "https://example.org/terms"); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.school2, err = e.reg.CreateOrg(ctx, roster.SystemPrincipal, roster.Organisation{Name: "School 2", RootOrgID: e.stateA.ID}); err != nil {
		t.Fatal(err)
	}
	user := func(c authz.Caller, orgID string, roles ...string) string {
		u := w.newUser(orgID, roles...)
		w.tokens[c], w.callerIDs[c] = w.token(u.id), u.id
		return u.id
	}
	user(authz.Self, e.schoolA.ID)
	user(authz.OtherLearner, e.schoolA.ID)
	user(authz.SchoolAdmin, e.schoolA.ID, roster.RoleOrgAdmin)
	user(authz.OtherSchoolAdmin, w.school2.ID, roster.RoleOrgAdmin)
	user(authz.TenantAdmin, e.stateA.ID, roster.RoleOrgAdmin)
	user(authz.OtherTenantAdmin, e.stateB.ID, roster.RoleOrgAdmin)
	user(authz.Creator, e.stateA.ID, roster.RoleContentCreator)
	user(authz.OtherCreator, e.stateA.ID, roster.RoleContentCreator)
	mentor := user(authz.Mentor, e.stateA.ID)

	creator := w.tokens[authz.Creator]
	var c roster.Course
	e.do(http.MethodPost, "/api/v1/courses", creator, map[string]any{"name": "Matrix"}, &c).expect(t, http.StatusCreated)
	w.courseID = c.ID
	var b roster.Batch
	e.do(http.MethodPost, "/api/v1/courses/"+c.ID+"/batches", creator,
		map[string]any{"name": "B1", "startDate": time.Now().UTC().Format(time.DateOnly), "mentors": []string{mentor}}, &b).
		expect(t, http.StatusCreated)
	w.batchID = b.ID

	var r report.Request
	e.do(http.MethodPost, "/api/v1/reports", creator, map[string]any{"courseId": c.ID, "password": "Matrix-pass1"}, &r).
		expect(t, http.StatusAccepted)
	for deadline := time.Now().Add(60 * time.Second); r.Status != roster.ReportSuccess; time.Sleep(50 * time.Millisecond) {
		if r.Status == roster.ReportFailed || time.Now().After(deadline) {
			t.Fatalf("report ended as %+v", r.ReportRequest)
		}
		e.do(http.MethodGet, "/api/v1/reports/"+r.ID, creator, nil, &r).expect(t, http.StatusOK)
	}
	w.reportID, w.dlLink = r.ID, r.Download.Token

	var up roster.Upload
	e.postUploadTo("/api/v1/uploads?dryRun=true", w.tokens[authz.TenantAdmin], map[string]string{"orgId": e.schoolA.ID},
		"users.csv", w.csv(), &up).expect(t, http.StatusOK)
	w.uploadID = up.ID

	loc, err := e.reg.CreateLocation(ctx, roster.SystemPrincipal, roster.Location{Code: "MX", Name: "Matrix", Type: roster.LocationState})
	if err != nil {
		t.Fatal(err)
	}
	w.locationID = loc.ID
	return w
}

func (w *matrixWorld) unique(prefix string) string {
	w.n++
	return fmt.Sprintf("%s%d", prefix, w.n)
}

func (w *matrixWorld) newUser(orgID string, roles ...string) matrixTarget {
	w.t.Helper()
	email := w.unique("m") + "@example.org"
	u, err := w.e.reg.CreateUser(context.Background(), roster.SystemPrincipal, registry.NewUser{
		User: roster.User{FirstName: "Matrix", Email: email}, Password: testPassword, OrgID: orgID, Roles: roles})
	if err != nil {
		w.t.Fatal(err)
	}
	return matrixTarget{id: u.ID, email: email}
}

// verifiedPhone gives user id a fresh phone number marked verified, so a
// reset code can reach them.
func (w *matrixWorld) verifiedPhone(id string) string {
	w.t.Helper()
	ctx, phone := context.Background(), uniquePhone()
	if _, err := w.e.reg.UpdateUser(ctx, roster.SystemPrincipal, id, registry.UserPatch{Phone: &phone}); err != nil {
		w.t.Fatal(err)
	}
	rec, err := store.GetUser(ctx, w.e.db, id)
	if err != nil {
		w.t.Fatal(err)
	}
	rec.PhoneVerified = true
	if err := store.UpdateUser(ctx, w.e.db, rec); err != nil {
		w.t.Fatal(err)
	}
	return phone
}

// resetCode asks for a reset of a fresh user's verified phone and returns
// the phone and the code the gateway got.
func (w *matrixWorld) resetCode() (phone, code string) {
	w.t.Helper()
	u := w.newUser(w.e.schoolA.ID)
	phone = w.verifiedPhone(u.id)
	if _, err := w.e.signUp.svc.RequestReset(context.Background(), registry.SignUpContact{Phone: phone}, ""); err != nil {
		w.t.Fatal(err)
	}
	return phone, w.e.signUp.gw.Code(w.t, phone)
}

func (w *matrixWorld) token(userID string) string {
	w.t.Helper()
	rec, err := store.GetUser(context.Background(), w.e.db, userID)
	if err != nil {
		w.t.Fatal(err)
	}
	tok, _, err := w.e.auth.Tokens.Issue(userID, rec.SessionGeneration)
	if err != nil {
		w.t.Fatal(err)
	}
	return tok
}

func (w *matrixWorld) csv() string {
	return "firstName,email,userName,password\r\nRow," + w.unique("csv") + "@example.org," + w.unique("csv_u") + ",Upl0adPass1\r\n"
}

// target builds a fresh target user for each call, so that one caller's
// block or delete never changes what the next caller meets.
func (w *matrixWorld) target(kind string) *matrixTarget {
	var t matrixTarget
	switch kind {
	case authz.Pupil, authz.PupilToSchool1, authz.PupilAsAdmin, authz.PupilToSchool2:
		t = w.newUser(w.e.schoolA.ID)
	case authz.EnrolledPupil:
		t = w.newUser(w.e.schoolA.ID)
		w.e.do(http.MethodPut, "/api/v1/batches/"+w.batchID+"/participants/"+t.id, w.token(t.id), nil, nil).expect(w.t, http.StatusOK)
	case authz.TenantMember:
		t = w.newUser(w.e.stateA.ID)
	case authz.OtherAdmin:
		t = w.newUser(w.school2.ID, roster.RoleOrgAdmin)
	case authz.OtherUser:
		t = w.newUser(w.e.stateB.ID)
	case authz.SignedUpUser:
		t = w.newUser("")
	case authz.Declarer, authz.PendingForSchl1:
		t = w.newUser("")
		p, err := w.e.reg.Principal(context.Background(), t.id)
		if err != nil {
			w.t.Fatal(err)
		}
		d, err := w.e.reg.Declare(context.Background(), p, registry.DeclarationInput{StateID: w.e.stateA.ID,
			SchoolID: w.e.schoolA.ID, TeacherID: w.unique("TID-")})
		if err != nil {
			w.t.Fatal(err)
		}
		t.declID = d.ID
	}
	t.kind = kind
	return &t
}

// call sends req as c and names the outcome. Self is the target user when
// there is one.
func (w *matrixWorld) call(c authz.Caller, t *matrixTarget, req matrixRequest) authz.Outcome {
	token := w.tokens[c]
	if id, ok := w.callerIDs[c]; ok {
		token = w.token(id)
	}
	if c == authz.Self && t.id != "" {
		token = w.token(t.id)
	}
	var res *response
	if req.csv != "" {
		res = w.e.postUploadTo(req.path, token, map[string]string{"orgId": w.e.schoolA.ID}, "users.csv", req.csv, nil)
	} else {
		res = w.e.do(req.method, req.path, token, req.body, nil)
	}
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return authz.OK
	case res.StatusCode == http.StatusForbidden:
		return authz.Forbidden403
	case res.StatusCode == http.StatusNotFound:
		return authz.NotFound404
	case res.StatusCode == http.StatusUnauthorized:
		return authz.SignIn401
	}
	return authz.Outcome(fmt.Sprintf("%d %s", res.StatusCode, res.body))
}

const api = "/api/v1"

func get(path string) matrixRequest { return matrixRequest{method: http.MethodGet, path: api + path} }

func send(method, path string, body any) matrixRequest {
	return matrixRequest{method: method, path: api + path, body: body}
}

// matrixRequests builds, for each operation, a request that succeeds for a
// caller who is allowed, so that a refusal can only come from the policy.
var matrixRequests = map[string]func(w *matrixWorld, t *matrixTarget) matrixRequest{
	"login": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/auth/login", map[string]string{"login": t.email, "password": testPassword})
	},
	"logout":     func(*matrixWorld, *matrixTarget) matrixRequest { return send(http.MethodPost, "/auth/logout", nil) },
	"authConfig": func(*matrixWorld, *matrixTarget) matrixRequest { return get("/auth/config") },
	"me":         func(*matrixWorld, *matrixTarget) matrixRequest { return get("/me") },
	"currentTnc": func(*matrixWorld, *matrixTarget) matrixRequest { return get("/tnc") },
	"acceptTnc": func(*matrixWorld, *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/me/tnc", map[string]string{"kind": roster.TncPlatform, "version": matrixTncVersion})
	},
	"signUpConfig":    func(*matrixWorld, *matrixTarget) matrixRequest { return get("/signup/config") },
	"signUpLocations": func(*matrixWorld, *matrixTarget) matrixRequest { return get("/signup/locations") },
	"signUp": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/signup", w.e.signUp.form(uniquePhone()))
	},
	"signUpResend": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/signup/resend", contactOf(uniquePhone()))
	},
	"signUpVerify": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		phone, code := w.e.signUp.pending(w.t)
		return send(http.MethodPost, "/signup/verify", verifyBody(phone, signUpPassword, code))
	},
	"signUpChild": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/signup/child", w.e.signUp.childForm())
	},
	"passwordReset": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/auth/reset", contactOf(uniquePhone()))
	},
	"passwordResetConfirm": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		phone, code := w.resetCode()
		return send(http.MethodPost, "/auth/reset/confirm", map[string]string{"phone": phone, "code": code, "newPassword": testPassword})
	},
	"userPasswordReset": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		w.verifiedPhone(t.id)
		return send(http.MethodPost, "/users/"+t.id+"/password-reset", nil)
	},
	"changeOwnPassword": func(*matrixWorld, *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/me/password", map[string]string{"currentPassword": testPassword, "newPassword": testPassword})
	},

	"createUser": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		body := map[string]any{"firstName": "New", "email": w.unique("new") + "@example.org", "orgId": w.e.schoolA.ID, "roles": t.roles()}
		return send(http.MethodPost, "/users", body)
	},
	"getUser": func(w *matrixWorld, t *matrixTarget) matrixRequest { return get("/users/" + t.id) },
	"updateUser": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodPatch, "/users/"+t.id, map[string]any{"lastName": "Changed"})
	},
	"transferUser": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		from, to := w.e.schoolA.ID, w.school2.ID
		if t.kind == authz.OtherUser {
			org, err := w.e.reg.CreateOrg(context.Background(), roster.SystemPrincipal, roster.Organisation{Name: w.unique("B school "), RootOrgID: w.e.stateB.ID})
			if err != nil {
				w.t.Fatal(err)
			}
			from, to = w.e.stateB.ID, org.ID
		}
		return send(http.MethodPost, "/users/"+t.id+"/transfer", map[string]any{"from": from, "to": to, "roles": []string{roster.RoleCourseMentor}})
	},
	"userHistory": func(w *matrixWorld, t *matrixTarget) matrixRequest { return get("/users/" + t.id + "/organisations") },
	"blockUser": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/users/"+t.id+"/block", nil)
	},
	"unblockUser": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/users/"+t.id+"/unblock", nil)
	},
	"deleteUser": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodDelete, "/users/"+t.id, nil)
	},
	"eraseUser": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/users/"+t.id+"/erase", map[string]string{"password": testPassword})
	},
	"lookupUser": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/users/lookup", map[string]string{"type": "email", "value": t.email})
	},
	"linkSSO": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/users/"+t.id+"/sso-links", map[string]string{"provider": "matrix-idp", "subject": w.unique("sub-")})
	},
	"unlinkSSO": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		if err := w.e.reg.LinkIdentity(context.Background(), roster.SystemPrincipal, t.id,
			roster.ExternalIdentity{Provider: "matrix-idp", IDType: "sso", ExternalID: w.unique("sub-")}); err != nil {
			w.t.Fatal(err)
		}
		return send(http.MethodDelete, "/users/"+t.id+"/sso-links?provider=matrix-idp", nil)
	},
	"listOrgUsers": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		if t.kind == authz.Tenant {
			return get("/organisations/" + w.e.stateA.ID + "/users?q=a&status=active")
		}
		return get("/organisations/" + w.e.schoolA.ID + "/users?limit=5")
	},
	"exportOrgUsers": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return get("/organisations/" + w.e.schoolA.ID + "/users/export.csv?contacts=full")
	},
	"listAudit": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return get("/audit?tenant=" + w.e.stateA.ID + "&action=user.create")
	},

	"createOrganisation": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/organisations", map[string]any{"name": w.unique("Org "), "rootOrgId": w.e.stateA.ID})
	},
	"getOrganisation": func(w *matrixWorld, _ *matrixTarget) matrixRequest { return get("/organisations/" + w.e.schoolA.ID) },
	"listOrganisations": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return get("/organisations?rootOrgId=" + w.e.stateA.ID)
	},
	"createLocation": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/locations", map[string]any{"code": w.unique("L"), "name": "Place", "type": "state"})
	},
	"getLocation":   func(w *matrixWorld, _ *matrixTarget) matrixRequest { return get("/locations/" + w.locationID) },
	"listLocations": func(w *matrixWorld, _ *matrixTarget) matrixRequest { return get("/locations?type=state") },
	"putMembership": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodPut, "/organisations/"+w.e.schoolA.ID+"/members/"+t.id, map[string]any{"roles": t.roles()})
	},
	"deleteMembership": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodDelete, "/organisations/"+w.e.schoolA.ID+"/members/"+t.id, nil)
	},

	"createCourse": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/courses", map[string]any{"name": "Course", "rootOrgId": w.e.stateA.ID})
	},
	"getCourse":   func(w *matrixWorld, _ *matrixTarget) matrixRequest { return get("/courses/" + w.courseID) },
	"myCourses":   func(*matrixWorld, *matrixTarget) matrixRequest { return get("/me/courses") },
	"listCourses": func(*matrixWorld, *matrixTarget) matrixRequest { return get("/courses") },
	"createBatch": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/courses/"+w.courseID+"/batches",
			map[string]any{"name": "More", "startDate": time.Now().UTC().Format(time.DateOnly)})
	},
	"listBatches": func(w *matrixWorld, _ *matrixTarget) matrixRequest { return get("/courses/" + w.courseID + "/batches") },
	"getBatch":    func(w *matrixWorld, _ *matrixTarget) matrixRequest { return get("/batches/" + w.batchID) },
	"listParticipants": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return get("/batches/" + w.batchID + "/participants")
	},
	"enrol": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodPut, "/batches/"+w.batchID+"/participants/"+t.id, nil)
	},
	"unenrol": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodDelete, "/batches/"+w.batchID+"/participants/"+t.id, nil)
	},
	"myEnrolments": func(*matrixWorld, *matrixTarget) matrixRequest { return get("/me/enrolments") },
	"recordConsent": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/courses/"+w.courseID+"/consent", map[string]string{"status": roster.ConsentActive})
	},
	"consentHistory": func(w *matrixWorld, _ *matrixTarget) matrixRequest { return get("/courses/" + w.courseID + "/consent") },

	"requestReport": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/reports", map[string]string{"courseId": w.courseID, "password": "Matrix-pass1"})
	},
	"listReports": func(*matrixWorld, *matrixTarget) matrixRequest { return get("/reports") },
	"getReport":   func(w *matrixWorld, _ *matrixTarget) matrixRequest { return get("/reports/" + w.reportID) },
	"reportLink": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/reports/"+w.reportID+"/link", nil)
	},
	"downloadReport": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return get("/reports/download?token=" + url.QueryEscape(w.dlLink))
	},
	"getReportPolicy": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return get("/organisations/" + w.e.stateA.ID + "/report-policy")
	},
	"putReportPolicy": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPut, "/organisations/"+w.e.stateA.ID+"/report-policy", map[string]string{"preset": "default"})
	},

	"submitUpload": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return matrixRequest{method: http.MethodPost, path: api + "/uploads?dryRun=true", csv: w.csv()}
	},
	"listUploads":    func(w *matrixWorld, _ *matrixTarget) matrixRequest { return get("/uploads?orgId=" + w.e.schoolA.ID) },
	"getUpload":      func(w *matrixWorld, _ *matrixTarget) matrixRequest { return get("/uploads/" + w.uploadID) },
	"listUploadRows": func(w *matrixWorld, _ *matrixTarget) matrixRequest { return get("/uploads/" + w.uploadID + "/rows") },
	"uploadResultCSV": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return get("/uploads/" + w.uploadID + "/result.csv")
	},
	"uploadTemplate": func(*matrixWorld, *matrixTarget) matrixRequest { return get("/uploads/template.csv") },

	"listStates": func(*matrixWorld, *matrixTarget) matrixRequest { return get("/states") },
	"listStateSchools": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return get("/states/" + w.e.stateA.ID + "/schools?q=a&limit=10")
	},
	"declareSelf": func(w *matrixWorld, _ *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/me/declaration", map[string]string{"stateId": w.e.stateA.ID,
			"schoolId": w.e.schoolA.ID, "teacherId": w.unique("TID-")})
	},
	"myDeclaration": func(*matrixWorld, *matrixTarget) matrixRequest { return get("/me/declaration") },
	"withdrawDeclaration": func(*matrixWorld, *matrixTarget) matrixRequest {
		return send(http.MethodDelete, "/me/declaration", nil)
	},
	"listDeclarations": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		org := w.e.schoolA.ID
		if t.kind == authz.Tenant {
			org = w.e.stateA.ID
		}
		return get("/organisations/" + org + "/declarations?status=pending")
	},
	"approveDeclaration": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/declarations/"+t.declID+"/approve", map[string]string{})
	},
	"rejectDeclaration": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/declarations/"+t.declID+"/reject", map[string]string{"reason": "Not known at this school"})
	},
	"decideDeclarations": func(w *matrixWorld, t *matrixTarget) matrixRequest {
		return send(http.MethodPost, "/organisations/"+w.e.schoolA.ID+"/declarations/decisions",
			map[string]any{"decision": "approve", "ids": []string{t.declID}})
	},
}
