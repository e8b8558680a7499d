package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/otp"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/signup"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/upload"
)

const resetPassword = "Res3t-Passw0rd"

// markVerified sets the user's email (or phone) verified flag, as a
// finished sign-up or a verified upload row would.
func markVerified(t *testing.T, e *env, id string, email bool) {
	t.Helper()
	rec, err := store.GetUser(context.Background(), e.db, id)
	if err != nil {
		t.Fatal(err)
	}
	if email {
		rec.EmailVerified = true
	} else {
		rec.PhoneVerified = true
	}
	if err := store.UpdateUser(context.Background(), e.db, rec); err != nil {
		t.Fatal(err)
	}
}

func resetBody(contact, code, pw string) map[string]any {
	b := contactOf(contact)
	b["code"], b["newPassword"] = code, pw
	return b
}

func auditCount(t *testing.T, db store.Engine, objectID, action, detail string) int {
	t.Helper()
	var n int
	err := db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE object_id = $1 AND action = $2 AND detail = $3`,
		objectID, action, detail).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// noResetSecretsLogged: the server's log holds no address, code or password.
func noResetSecretsLogged(t *testing.T, e *env, secrets ...string) {
	t.Helper()
	logs := e.logs.String()
	if !strings.Contains(logs, "/auth/reset") {
		t.Fatal("the access log did not record the reset requests; the test would prove nothing")
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) || strings.Contains(logs, strings.TrimPrefix(s, "+91")) {
			t.Fatal("the log holds a secret of the reset")
		}
	}
}

func TestPasswordResetByEmail(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withSignUp(true))
		addr := "reset-" + roster.NewID() + "@example.org"
		u := e.createUser(e.schoolA.ID, "resetter", addr)
		markVerified(t, e, u.ID, true)
		old := e.login(addr)

		var out struct{ Message string }
		e.do(http.MethodPost, "/api/v1/auth/reset", "", contactOf(addr), &out).expect(t, http.StatusAccepted)
		if out.Message != signup.MsgResetSent {
			t.Fatalf("answer %q", out.Message)
		}
		code := e.signUp.mail.Code(t, addr)
		// A weak password is refused before the code is spent.
		res := e.do(http.MethodPost, "/api/v1/auth/reset/confirm", "", resetBody(addr, code, "short"), nil).expect(t, http.StatusUnprocessableEntity)
		if fieldMessage(t, res, registry.FieldNewPassword) == "" {
			t.Fatalf("weak password: %s", res.body)
		}
		e.do(http.MethodPost, "/api/v1/auth/reset/confirm", "", resetBody(addr, code, resetPassword), nil).expect(t, http.StatusOK)
		if e.meStatus(old) != http.StatusUnauthorized {
			t.Fatal("a session from before the reset still works")
		}
		e.loginWith(addr, resetPassword)
		e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": addr, "password": testPassword}, nil).expect(t, http.StatusUnauthorized)
		// The code works once.
		res = e.do(http.MethodPost, "/api/v1/auth/reset/confirm", "", resetBody(addr, code, "Another-Passw0rd"), nil).expect(t, http.StatusUnprocessableEntity)
		if fieldMessage(t, res, "code") != otp.MsgSpent {
			t.Fatalf("reused code: %s", res.body)
		}
		if auditCount(t, db, u.ID, registry.AuditPasswordReset, "reset:email") != 1 {
			t.Fatal("the reset is not audited")
		}
		noResetSecretsLogged(t, e, addr, code, resetPassword)
	})
}

// An unverified contact, a blocked account and an unknown address get the
// answer a verified one gets, and nothing is sent to them.
func TestPasswordResetDoesNotRevealAccounts(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withSignUp(false))
		ctx := context.Background()
		mk := func(name string) (string, string) {
			phone := uniquePhone()
			u, err := e.reg.CreateUser(ctx, roster.SystemPrincipal, registry.NewUser{
				User: roster.User{FirstName: "R", Username: name, Phone: phone}, Password: testPassword, OrgID: e.stateA.ID})
			if err != nil {
				t.Fatal(err)
			}
			return u.ID, phone
		}
		verifiedID, verified := mk("verified")
		markVerified(t, e, verifiedID, false)
		_, unverified := mk("unverified")
		blockedID, blocked := mk("blocked")
		markVerified(t, e, blockedID, false)
		if err := e.reg.BlockUser(ctx, roster.SystemPrincipal, blockedID); err != nil {
			t.Fatal(err)
		}
		unknown := uniquePhone()
		want := e.do(http.MethodPost, "/api/v1/auth/reset", "", contactOf(verified), nil).expect(t, http.StatusAccepted)
		if len(e.signUp.gw.To(verified)) != 1 {
			t.Fatal("the verified phone got no code")
		}
		for name, phone := range map[string]string{"unverified": unverified, "blocked": blocked, "unknown": unknown} {
			got := e.do(http.MethodPost, "/api/v1/auth/reset", "", contactOf(phone), nil).expect(t, http.StatusAccepted)
			if string(got.body) != string(want.body) {
				t.Errorf("%s: answer %s, want %s", name, got.body, want.body)
			}
			if n := len(e.signUp.gw.To(phone)); n != 0 {
				t.Errorf("%s: %d messages sent", name, n)
			}
			// Guessing a code for it sets nothing.
			e.do(http.MethodPost, "/api/v1/auth/reset/confirm", "", resetBody(phone, "123456", resetPassword), nil).expect(t, http.StatusUnprocessableEntity)
		}
		e.loginWith(unverified, testPassword)
	})
}

func TestPasswordResetCodes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withSignUp(false))
		k := e.signUp
		phone := uniquePhone()
		u, err := e.reg.CreateUser(context.Background(), roster.SystemPrincipal, registry.NewUser{
			User: roster.User{FirstName: "R", Username: "codes", Phone: phone}, Password: testPassword, OrgID: e.stateA.ID})
		if err != nil {
			t.Fatal(err)
		}
		markVerified(t, e, u.ID, false)
		t.Run("expired", func(t *testing.T) {
			e.do(http.MethodPost, "/api/v1/auth/reset", "", contactOf(phone), nil).expect(t, http.StatusAccepted)
			code := k.gw.Code(t, phone)
			k.codes.Now = func() time.Time { return roster.Now().Add(otp.DefaultTTL) }
			defer func() { k.codes.Now = roster.Now }()
			res := e.do(http.MethodPost, "/api/v1/auth/reset/confirm", "", resetBody(phone, code, resetPassword), nil).expect(t, http.StatusUnprocessableEntity)
			if fieldMessage(t, res, "code") != otp.MsgExpired {
				t.Fatalf("expired code: %s", res.body)
			}
			e.loginWith(phone, testPassword)
		})
		t.Run("a sign-up code does not reset", func(t *testing.T) {
			k.codes.Cooldown = 0
			defer func() { k.codes.Cooldown = otp.DefaultCooldown }()
			code, err := k.codes.Issue(context.Background(), otp.PurposeSignUp, otp.Destination{Channel: otp.ChannelSMS, Address: phone}, "")
			if err != nil {
				t.Fatal(err)
			}
			e.do(http.MethodPost, "/api/v1/auth/reset/confirm", "", resetBody(phone, code, resetPassword), nil).expect(t, http.StatusUnprocessableEntity)
			e.loginWith(phone, testPassword)
		})
		t.Run("throttled", func(t *testing.T) {
			later := roster.Now().Add(2 * otp.DefaultCooldown)
			k.codes.Now = func() time.Time { return later }
			defer func() { k.codes.Now = roster.Now }()
			e.do(http.MethodPost, "/api/v1/auth/reset", "", contactOf(phone), nil).expect(t, http.StatusAccepted)
			res := e.do(http.MethodPost, "/api/v1/auth/reset", "", contactOf(phone), nil).expect(t, http.StatusTooManyRequests)
			if res.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		})
	})
}

func TestAdminTriggeredPasswordReset(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withSignUp(true))
		admin, other := e.login("adminA"), e.login("adminB")
		addr := "teacher-" + roster.NewID() + "@example.org"
		u := e.createUser(e.schoolA.ID, "teacher", addr)
		noContact := e.createUser(e.schoolA.ID, "nocontact", "nocontact-"+roster.NewID()+"@example.org")

		// Another tenant's admin is told the user does not exist.
		e.do(http.MethodPost, "/api/v1/users/"+u.ID+"/password-reset", other, nil, nil).expect(t, http.StatusNotFound)
		// No verified contact: nothing can reach the user, and the admin is told.
		res := e.do(http.MethodPost, "/api/v1/users/"+noContact.ID+"/password-reset", admin, nil, nil).expect(t, http.StatusUnprocessableEntity)
		if !strings.Contains(string(res.body), registry.MsgNoVerifiedContact) {
			t.Fatalf("no verified contact: %s", res.body)
		}

		markVerified(t, e, u.ID, true)
		res = e.do(http.MethodPost, "/api/v1/users/"+u.ID+"/password-reset", admin, nil, nil).expect(t, http.StatusAccepted)
		mail := e.signUp.mail.WaitMessages(t, addr, 1)[0]
		code := e.signUp.mail.Code(t, addr)
		if strings.Contains(string(res.body), code) || strings.Contains(string(res.body), addr) {
			t.Fatal("the administrator's answer holds the code or the address")
		}
		if !strings.Contains(mail.Text, "administrator") {
			t.Fatalf("message: %q", mail.Text)
		}
		e.loginWith(addr, testPassword) // nothing changed until the user acts
		e.do(http.MethodPost, "/api/v1/auth/reset/confirm", "", resetBody(addr, code, resetPassword), nil).expect(t, http.StatusOK)
		e.loginWith(addr, resetPassword)
		adminID := e.userID("adminA")
		var n int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE object_id = $1 AND action = $2 AND actor_id = $3 AND outcome = 'ok'`,
			u.ID, registry.AuditResetRequested, adminID).Scan(&n); err != nil || n != 1 {
			t.Fatalf("admin reset audited %d times (%v)", n, err)
		}
	})
}

func (e *env) userID(username string) string {
	e.t.Helper()
	u, err := e.reg.FindUser(context.Background(), roster.SystemPrincipal, registry.LookupQuery{Type: "username", Value: username})
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

// A password an administrator chose lets its user do one thing: choose
// their own.
func TestPasswordChosenByAdminMustChange(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		var created registry.UserView
		e.do(http.MethodPost, "/api/v1/users", admin, map[string]any{"firstName": "New", "userName": "newbie", "email": "newbie@example.org",
			"password": testPassword, "orgId": e.schoolA.ID}, &created).expect(t, http.StatusCreated)

		var login struct {
			Token     string
			Principal roster.Principal
		}
		e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "newbie", "password": testPassword}, &login).expect(t, http.StatusOK)
		if !login.Principal.PasswordMustChange {
			t.Fatal("sign-in does not say the password must change")
		}
		e.do(http.MethodGet, "/api/v1/me", login.Token, nil, nil).expect(t, http.StatusOK)
		res := e.do(http.MethodGet, "/api/v1/organisations/"+e.schoolA.ID, login.Token, nil, nil).expect(t, http.StatusForbidden)
		if res.problem(t).Detail != authz.MsgChooseOwnPassword {
			t.Fatalf("restricted session: %s", res.body)
		}
		token := login.Token
		login.Principal = roster.Principal{} // the flag is omitted when false
		e.do(http.MethodPost, "/api/v1/me/password", token, map[string]string{"currentPassword": testPassword, "newPassword": testPassword},
			&login).expect(t, http.StatusOK)
		if login.Principal.PasswordMustChange {
			t.Fatal("changing the password did not lift the restriction")
		}
		e.do(http.MethodGet, "/api/v1/organisations/"+e.schoolA.ID, login.Token, nil, nil).expect(t, http.StatusOK)

		// An administrator setting the password again restricts it again.
		pw := "Admin-Set-Passw0rd"
		e.do(http.MethodPatch, "/api/v1/users/"+created.ID, admin, map[string]any{"password": pw}, nil).expect(t, http.StatusOK)
		e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "newbie", "password": pw}, &login).expect(t, http.StatusOK)
		if !login.Principal.PasswordMustChange {
			t.Fatal("a password set by an administrator does not have to change")
		}
		// The operator's own accounts (created as the system) are not restricted.
		var adminLogin struct{ Principal roster.Principal }
		e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "adminA", "password": testPassword}, &adminLogin).expect(t, http.StatusOK)
		if adminLogin.Principal.PasswordMustChange {
			t.Fatal("an operator-created admin must change their password")
		}
	})
}

// A file without a password column is refused unless the server sends
// activation messages; then each user gets a code at the contact the row
// marks verified, or the row's result says none could be sent.
func TestUploadWithoutPasswordsSendsActivation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		verified := "act-" + roster.NewID() + "@example.org"
		unverified := "unv-" + roster.NewID() + "@example.org"
		csv := "firstName,userName,email,emailVerified\r\n" +
			"Asha,ashaact,\"" + verified + "\",TRUE\r\n" +
			"Ravi,raviact,\"" + unverified + "\",\r\n"

		var uploads *upload.Service
		e := newEnv(t, db, withJobs, withSignUp(true), func(s *envSetup) { uploads = s.cfg.Uploads })
		admin := e.login("adminA")
		res := e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID}, "users.csv", csv, nil).
			expect(t, http.StatusUnprocessableEntity)
		if !res.contains("password") {
			t.Fatalf("without activation: %s", res.body)
		}
		uploads.Activation = e.signUp.svc // --upload-activation

		up := e.waitUpload(admin, e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID}, "users.csv", csv, nil))
		if up.Succeeded != 2 || up.Failed != 0 {
			t.Fatalf("counts = %+v", up)
		}
		var rows struct{ Rows []roster.UploadRow }
		e.do(http.MethodGet, "/api/v1/uploads/"+up.ID+"/rows", admin, nil, &rows).expect(t, http.StatusOK)
		if len(rows.Rows) != 2 || len(rows.Rows[0].Errors) != 0 || len(rows.Rows[1].Errors) != 1 ||
			rows.Rows[1].Errors[0].Message != upload.MsgNoActivation {
			t.Fatalf("rows = %+v", rows.Rows)
		}
		mail := e.signUp.mail.WaitMessages(t, verified, 1)[0]
		if !strings.Contains(mail.Text, "created a Roster account for you") {
			t.Fatalf("activation message: %q", mail.Text)
		}
		code := e.signUp.mail.Code(t, verified)
		e.do(http.MethodPost, "/api/v1/auth/reset/confirm", "", resetBody(verified, code, resetPassword), nil).expect(t, http.StatusOK)
		var login struct{ Principal roster.Principal }
		e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "ashaact", "password": resetPassword}, &login).expect(t, http.StatusOK)
		if login.Principal.PasswordMustChange {
			t.Fatal("a password the user chose must change")
		}
		if n := len(e.signUp.mail.Messages(t, unverified)); n != 0 {
			t.Fatalf("the unverified address got %d messages", n)
		}
	})
}
