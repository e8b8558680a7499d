package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/notify"
	"github.com/roster-dev/roster/internal/notify/notifytest"
	"github.com/roster-dev/roster/internal/otp"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/signup"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// signUpKit is self sign-up wired to real message servers: a local SMS
// gateway always, mailpit when the test asks for email.
type signUpKit struct {
	svc             *signup.Service
	codes           *otp.Service
	gw              *notifytest.Gateway
	mail            *notifytest.Mailpit
	state, district *roster.Location
}

// withSignUp adds the sign-up routes; withMail also sends email through
// mailpit (skipping the test without one, failing with CI=true).
func withSignUp(withMail bool, configure ...func(*otp.Service)) envOption {
	return func(s *envSetup) {
		ctx := context.Background()
		k := &signUpKit{gw: notifytest.NewGateway(s.t), codes: otp.New(s.db, s.keys)}
		for _, c := range configure {
			c(k.codes)
		}
		n := &notify.Notifier{SMS: k.gw.Driver(s.t)}
		if withMail {
			k.mail = notifytest.NewMailpit(s.t)
			n.Email = k.mail.Driver(s.t)
		}
		k.svc = signup.New(s.reg, k.codes, n)
		var err error
		if k.state, err = s.reg.CreateLocation(ctx, roster.SystemPrincipal, roster.Location{Code: "29", Name: "Karnataka", Type: roster.LocationState}); err != nil {
			s.t.Fatal(err)
		}
		if k.district, err = s.reg.CreateLocation(ctx, roster.SystemPrincipal, roster.Location{Code: "2901", Name: "Bengaluru Urban", Type: roster.LocationDistrict, ParentID: k.state.ID}); err != nil {
			s.t.Fatal(err)
		}
		s.cfg.SignUp = k.svc
		s.signUp = k
	}
}

const signUpPassword = "Sign-up-Passw0rd"

// form is a valid adult sign-up to contact (an email, or a phone when it
// starts with +).
func (k *signUpKit) form(contact string) map[string]any {
	f := map[string]any{"firstName": "Asha", "lastName": "Rao", "password": signUpPassword,
		"yearOfBirth": strconv.Itoa(time.Now().Year() - 30), "state": k.state.Code, "district": k.district.Code,
		"tncAcceptedVersion": signup.DefaultTncVersion}
	if strings.HasPrefix(contact, "+") {
		f["phone"] = contact
	} else {
		f["email"] = contact
	}
	return f
}

func contactOf(contact string) map[string]any {
	if strings.HasPrefix(contact, "+") {
		return map[string]any{"phone": contact}
	}
	return map[string]any{"email": contact}
}

func verifyBody(contact, pw, code string) map[string]any {
	b := contactOf(contact)
	b["password"], b["code"] = pw, code
	return b
}

// fieldMessage is the message of the problem's error on field.
func fieldMessage(t *testing.T, r *response, field string) string {
	t.Helper()
	for _, e := range r.problem(t).Errors {
		if e.Location == "body."+field {
			return e.Message
		}
	}
	t.Fatalf("no error on %s in %s", field, r.body)
	return ""
}

// uniquePhone is a fresh Indian mobile number.
func uniquePhone() string {
	n := time.Now().UnixNano() % 100_000_000
	return "+9198" + strings.Repeat("0", 8-len(strconv.FormatInt(n, 10))) + strconv.FormatInt(n, 10)
}

func TestSignUpByEmail(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withSignUp(true))
		k := e.signUp
		addr := "asha-" + roster.NewID() + "@example.org"
		var out struct{ Message string }
		e.do(http.MethodPost, "/api/v1/signup", "", k.form(addr), &out).expect(t, http.StatusAccepted)
		if out.Message != signup.MsgCheckInbox {
			t.Fatalf("answer %q", out.Message)
		}
		res := e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": addr, "password": signUpPassword}, nil).expect(t, http.StatusUnauthorized)
		if res.problem(t).Detail != registry.MsgNotVerified {
			t.Fatalf("sign-in before verification: %s", res.body)
		}
		code := k.mail.Code(t, addr)
		res = e.do(http.MethodPost, "/api/v1/signup/verify", "", verifyBody(addr, "not-the-password", code), nil).expect(t, http.StatusUnprocessableEntity)
		if fieldMessage(t, res, "code") != registry.MsgSignUpMismatch {
			t.Fatalf("wrong password: %s", res.body)
		}
		e.do(http.MethodPost, "/api/v1/signup/verify", "", verifyBody(addr, signUpPassword, code), nil).expect(t, http.StatusOK)
		token := e.loginWith(addr, signUpPassword)
		var me struct {
			User registry.UserView `json:"user"`
		}
		e.do(http.MethodGet, "/api/v1/me", token, nil, &me).expect(t, http.StatusOK)
		u := me.User
		custodian, err := e.reg.Bootstrap(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := strconv.Itoa(time.Now().Year()-30) + "-12-31"
		if !u.EmailVerified || u.PhoneVerified || u.RootOrgID != custodian.ID || u.FlagsValue&roster.FlagTenantVerified != 0 ||
			u.DOB != want || u.TncAcceptedVersion != signup.DefaultTncVersion || u.TncAcceptedOn == nil || u.Status != roster.StatusActive {
			t.Fatalf("signed-up user: %+v", u)
		}
		if len(u.ProfileLocation) != 2 || u.ProfileLocation[0].Code != k.state.Code || u.ProfileLocation[1].Code != k.district.Code {
			t.Fatalf("profileLocation %+v", u.ProfileLocation)
		}
		if len(u.Memberships) != 1 || u.Memberships[0].OrganisationID != custodian.ID ||
			u.Memberships[0].AssociationType != registry.SignUpAssociation || len(u.Memberships[0].Roles) != 1 || u.Memberships[0].Roles[0] != roster.RolePublic {
			t.Fatalf("memberships %+v", u.Memberships)
		}
		// The code is spent: a second verification is refused.
		res = e.do(http.MethodPost, "/api/v1/signup/verify", "", verifyBody(addr, signUpPassword, code), nil).expect(t, http.StatusUnprocessableEntity)
		if fieldMessage(t, res, "code") != registry.MsgSignUpMismatch {
			t.Fatalf("reused code: %s", res.body)
		}
		noSecretsLogged(t, e, addr, code, signUpPassword)
	})
}

// noSecretsLogged: the server's log holds no address, code or password.
func noSecretsLogged(t *testing.T, e *env, secrets ...string) {
	t.Helper()
	logs := e.logs.String()
	if !strings.Contains(logs, "/signup") {
		t.Fatal("the access log did not record the sign-up requests; the test would prove nothing")
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) || strings.Contains(logs, strings.TrimPrefix(s, "+91")) {
			t.Fatalf("the log holds a secret of the sign-up")
		}
	}
}

func TestSignUpByPhone(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withSignUp(false))
		k := e.signUp
		phone := uniquePhone()
		e.do(http.MethodPost, "/api/v1/signup", "", k.form(phone), nil).expect(t, http.StatusAccepted)
		code := k.gw.Code(t, phone)
		e.do(http.MethodPost, "/api/v1/signup/verify", "", verifyBody(phone, signUpPassword, code), nil).expect(t, http.StatusOK)
		token := e.loginWith(phone, signUpPassword)
		var me struct {
			User registry.UserView `json:"user"`
		}
		e.do(http.MethodGet, "/api/v1/me", token, nil, &me).expect(t, http.StatusOK)
		if !me.User.PhoneVerified || me.User.EmailVerified {
			t.Fatalf("verified flags: phone %v email %v", me.User.PhoneVerified, me.User.EmailVerified)
		}
		noSecretsLogged(t, e, phone, code, signUpPassword)
	})
}

// A registered address gets the same answer as a new one, and its owner a
// notice instead of a code; the account is untouched.
func TestSignUpDoesNotRevealRegisteredAddresses(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withSignUp(false))
		k := e.signUp
		taken := uniquePhone()
		if _, err := e.reg.CreateUser(context.Background(), roster.SystemPrincipal, registry.NewUser{
			User: roster.User{FirstName: "Owner", Username: "owner", Phone: taken}, Password: testPassword, OrgID: e.stateA.ID}); err != nil {
			t.Fatal(err)
		}
		fresh := uniquePhone()
		a := e.do(http.MethodPost, "/api/v1/signup", "", k.form(taken), nil).expect(t, http.StatusAccepted)
		b := e.do(http.MethodPost, "/api/v1/signup", "", k.form(fresh), nil).expect(t, http.StatusAccepted)
		if string(a.body) != string(b.body) {
			t.Fatalf("answers differ: %s vs %s", a.body, b.body)
		}
		got := k.gw.To(taken)
		if len(got) != 1 || strings.Contains(got[0].Text, "code") || !strings.Contains(got[0].Text, "already has an account") {
			t.Fatalf("owner got %+v", got)
		}
		e.loginWith(taken, testPassword)
		// Verifying a registered address with anything is the same refusal.
		res := e.do(http.MethodPost, "/api/v1/signup/verify", "", verifyBody(taken, testPassword, "123456"), nil).expect(t, http.StatusUnprocessableEntity)
		if fieldMessage(t, res, "code") != registry.MsgSignUpMismatch {
			t.Fatalf("verify of a registered address: %s", res.body)
		}
	})
}

func TestSignUpCodes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withSignUp(false))
		k := e.signUp
		t.Run("expired", func(t *testing.T) {
			phone := uniquePhone()
			e.do(http.MethodPost, "/api/v1/signup", "", k.form(phone), nil).expect(t, http.StatusAccepted)
			code := k.gw.Code(t, phone)
			k.codes.Now = func() time.Time { return roster.Now().Add(otp.DefaultTTL) }
			defer func() { k.codes.Now = roster.Now }()
			res := e.do(http.MethodPost, "/api/v1/signup/verify", "", verifyBody(phone, signUpPassword, code), nil).expect(t, http.StatusUnprocessableEntity)
			if fieldMessage(t, res, "code") != otp.MsgExpired {
				t.Fatalf("expired code: %s", res.body)
			}
			e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": phone, "password": signUpPassword}, nil).expect(t, http.StatusUnauthorized)
		})
		t.Run("brute force", func(t *testing.T) {
			phone := uniquePhone()
			e.do(http.MethodPost, "/api/v1/signup", "", k.form(phone), nil).expect(t, http.StatusAccepted)
			code := k.gw.Code(t, phone)
			wrong := "000000"
			if code == wrong {
				wrong = "000001"
			}
			for i := 1; i <= otp.DefaultMaxAttempts; i++ {
				res := e.do(http.MethodPost, "/api/v1/signup/verify", "", verifyBody(phone, signUpPassword, wrong), nil).expect(t, http.StatusUnprocessableEntity)
				want := otp.MsgWrong
				if i == otp.DefaultMaxAttempts {
					want = otp.MsgSpent
				}
				if got := fieldMessage(t, res, "code"); got != want {
					t.Fatalf("guess %d: %q", i, got)
				}
			}
			// Further tries from this client wait; and the code is dead.
			res := e.do(http.MethodPost, "/api/v1/signup/verify", "", verifyBody(phone, signUpPassword, code), nil).expect(t, http.StatusTooManyRequests)
			if res.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			_, err := k.svc.Verify(context.Background(), registry.SignUpContact{Phone: phone}, signUpPassword, code)
			if roster.ErrorCode(err) != roster.EINVALID || !strings.Contains(err.Error(), otp.MsgSpent) {
				t.Fatalf("right code after the attempt limit: %v", err)
			}
		})
		t.Run("resend retires the old code; a repeated sign-up's password wins", func(t *testing.T) {
			k.codes.Cooldown = 0
			defer func() { k.codes.Cooldown = otp.DefaultCooldown }()
			phone := uniquePhone()
			e.do(http.MethodPost, "/api/v1/signup", "", k.form(phone), nil).expect(t, http.StatusAccepted)
			first := k.gw.Code(t, phone)
			again := k.form(phone)
			again["password"] = "Another-Passw0rd"
			e.do(http.MethodPost, "/api/v1/signup", "", again, nil).expect(t, http.StatusAccepted)
			e.do(http.MethodPost, "/api/v1/signup/resend", "", contactOf(phone), nil).expect(t, http.StatusAccepted)
			if n := len(k.gw.To(phone)); n != 3 {
				t.Fatalf("%d messages, want 3", n)
			}
			latest := k.gw.Code(t, phone)
			if latest != first {
				res := e.do(http.MethodPost, "/api/v1/signup/verify", "", verifyBody(phone, "Another-Passw0rd", first), nil).expect(t, http.StatusUnprocessableEntity)
				if fieldMessage(t, res, "code") != otp.MsgWrong {
					t.Fatalf("old code: %s", res.body)
				}
			}
			e.do(http.MethodPost, "/api/v1/signup/verify", "", verifyBody(phone, signUpPassword, latest), nil).expect(t, http.StatusUnprocessableEntity)
			e.do(http.MethodPost, "/api/v1/signup/verify", "", verifyBody(phone, "Another-Passw0rd", latest), nil).expect(t, http.StatusOK)
			e.loginWith(phone, "Another-Passw0rd")
		})
		t.Run("resend to an unknown address sends nothing, same answer", func(t *testing.T) {
			phone := uniquePhone()
			var out struct{ Message string }
			e.do(http.MethodPost, "/api/v1/signup/resend", "", contactOf(phone), &out).expect(t, http.StatusAccepted)
			if out.Message != signup.MsgCheckInbox || len(k.gw.To(phone)) != 0 {
				t.Fatalf("answer %q, %d messages", out.Message, len(k.gw.To(phone)))
			}
		})
	})
}

func TestSignUpThrottles(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withSignUp(false, func(c *otp.Service) { c.PerClientPerHour = 3 }))
		k := e.signUp
		phone := uniquePhone()
		e.do(http.MethodPost, "/api/v1/signup", "", k.form(phone), nil).expect(t, http.StatusAccepted)
		res := e.do(http.MethodPost, "/api/v1/signup", "", k.form(phone), nil).expect(t, http.StatusTooManyRequests)
		if res.problem(t).Detail != otp.MsgTooSoon || res.Header.Get("Retry-After") == "" {
			t.Fatalf("same address again: %s, Retry-After %q", res.body, res.Header.Get("Retry-After"))
		}
		e.do(http.MethodPost, "/api/v1/signup", "", k.form(uniquePhone()), nil).expect(t, http.StatusAccepted)
		e.do(http.MethodPost, "/api/v1/signup", "", k.form(uniquePhone()), nil).expect(t, http.StatusAccepted)
		res = e.do(http.MethodPost, "/api/v1/signup", "", k.form(uniquePhone()), nil).expect(t, http.StatusTooManyRequests)
		if res.problem(t).Detail != otp.MsgClientLimit {
			t.Fatalf("fourth from one client: %s", res.body)
		}
	})
}

func TestSignUpRules(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withSignUp(false))
		k := e.signUp
		minorYear := strconv.Itoa(time.Now().Year() - 10)
		for _, c := range []struct {
			name   string
			change func(map[string]any)
			field  string
			msg    string
		}{
			{"minor alone", func(f map[string]any) { f["yearOfBirth"] = minorYear }, "yearOfBirth", registry.MsgMinorParent},
			{"no year", func(f map[string]any) { delete(f, "yearOfBirth") }, "yearOfBirth", registry.MsgRequired},
			{"bad year", func(f map[string]any) { f["yearOfBirth"] = "19x0" }, "yearOfBirth", registry.MsgYearOfBirth},
			{"stale terms", func(f map[string]any) { f["tncAcceptedVersion"] = "v0" }, "tncAcceptedVersion", registry.MsgTncStale},
			{"no district", func(f map[string]any) { delete(f, "district") }, "profileLocation", registry.MsgStateDistrict},
			{"unknown district", func(f map[string]any) { f["district"] = "9999" }, "profileLocation", `entry 2: no district has code "9999"`},
			{"both contacts", func(f map[string]any) { f["email"] = "both@example.org" }, "phone", registry.MsgOneContact},
			{"bad name", func(f map[string]any) { f["firstName"] = "-" }, "firstName", registry.MsgNameLetter},
			{"short password", func(f map[string]any) { f["password"] = "short" }, "password", registry.MsgPasswordLength},
		} {
			t.Run(c.name, func(t *testing.T) {
				f := k.form(uniquePhone())
				c.change(f)
				res := e.do(http.MethodPost, "/api/v1/signup", "", f, nil).expect(t, http.StatusUnprocessableEntity)
				if got := fieldMessage(t, res, c.field); got != c.msg {
					t.Fatalf("%s: %q, want %q", c.field, got, c.msg)
				}
			})
		}
		t.Run("a parent signs up their child", func(t *testing.T) {
			parent := e.createUser(e.stateA.ID, "parent", "parent@example.org")
			token := e.login("parent")
			child := k.form("+910000000000")
			delete(child, "phone")
			child["firstName"], child["yearOfBirth"] = "Meera", minorYear
			var out struct{ UserID, UserName string }
			e.do(http.MethodPost, "/api/v1/signup/child", token, child, &out).expect(t, http.StatusCreated)
			u, err := e.reg.GetUser(context.Background(), roster.SystemPrincipal, out.UserID)
			if err != nil {
				t.Fatal(err)
			}
			if u.ManagedBy != parent.ID || u.Email != "" || u.Phone != "" || u.Status != roster.StatusActive || u.Username != out.UserName {
				t.Fatalf("child %+v", u.User)
			}
			child["email"] = "kid@example.org"
			res := e.do(http.MethodPost, "/api/v1/signup/child", token, child, nil).expect(t, http.StatusUnprocessableEntity)
			if fieldMessage(t, res, "email") != registry.MsgManagedContact {
				t.Fatalf("child with an email: %s", res.body)
			}
			delete(child, "email")
			child["yearOfBirth"] = strconv.Itoa(time.Now().Year() - 30)
			res = e.do(http.MethodPost, "/api/v1/signup/child", token, child, nil).expect(t, http.StatusUnprocessableEntity)
			if fieldMessage(t, res, "yearOfBirth") != signup.MsgChildOnly {
				t.Fatalf("adult as a child: %s", res.body)
			}
			e.do(http.MethodPost, "/api/v1/signup/child", "", child, nil).expect(t, http.StatusUnauthorized)
			child["yearOfBirth"] = minorYear
			for i := 1; i < registry.MaxManagedUsers; i++ {
				e.do(http.MethodPost, "/api/v1/signup/child", token, child, nil).expect(t, http.StatusCreated)
			}
			res = e.do(http.MethodPost, "/api/v1/signup/child", token, child, nil).expect(t, http.StatusUnprocessableEntity)
			if fieldMessage(t, res, "managedBy") != registry.MsgTooManyManaged {
				t.Fatalf("child %d: %s", registry.MaxManagedUsers+1, res.body)
			}
		})
	})
}

// Without a mail server (and without --dev-mail) email sign-up says so.
func TestSignUpWithoutMailServer(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withSignUp(false))
		res := e.do(http.MethodPost, "/api/v1/signup", "", e.signUp.form("nomail@example.org"), nil).expect(t, http.StatusServiceUnavailable)
		if res.problem(t).Detail != notify.MsgNoEmail {
			t.Fatalf("no SMTP: %s", res.body)
		}
		var cfg struct {
			TncVersion string
			Email, SMS bool
		}
		e.do(http.MethodGet, "/api/v1/signup/config", "", nil, &cfg).expect(t, http.StatusOK)
		if cfg.TncVersion != signup.DefaultTncVersion || cfg.Email || !cfg.SMS {
			t.Fatalf("config %+v", cfg)
		}
	})
}

// pending signs a fresh phone up through the service and returns it with
// the code the gateway received.
func (k *signUpKit) pending(t *testing.T) (phone, code string) {
	t.Helper()
	phone = uniquePhone()
	f := k.form(phone)
	_, err := k.svc.SignUp(context.Background(), signup.Request{FirstName: "Asha", Phone: phone, Password: signUpPassword,
		YearOfBirth: f["yearOfBirth"].(string), State: k.state.Code, District: k.district.Code, TncVersion: signup.DefaultTncVersion})
	if err != nil {
		t.Fatal(err)
	}
	return phone, k.gw.Code(t, phone)
}

// childForm is a valid sign-up of a ten-year-old, without contacts.
func (k *signUpKit) childForm() map[string]any {
	f := k.form("+910000000000")
	delete(f, "phone")
	f["firstName"], f["yearOfBirth"] = "Meera", strconv.Itoa(time.Now().Year()-10)
	return f
}
