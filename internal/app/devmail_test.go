package app

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/notify"
	"github.com/roster-dev/roster/internal/signup"
	"github.com/roster-dev/roster/internal/testkit"
)

func openForSignUp(t *testing.T, cfg Config) (*App, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	cfg.DataDir, cfg.LogOutput = t.TempDir(), logs
	a, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := a.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.Registry.HashPassword = testkit.CheapHash
	ctx := context.Background()
	st, err := a.Registry.CreateLocation(ctx, roster.SystemPrincipal, roster.Location{Code: "29", Name: "Karnataka", Type: roster.LocationState})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Registry.CreateLocation(ctx, roster.SystemPrincipal, roster.Location{Code: "2901", Name: "Bengaluru Urban", Type: roster.LocationDistrict, ParentID: st.ID}); err != nil {
		t.Fatal(err)
	}
	return a, logs
}

func devRequest(addr string) signup.Request {
	return signup.Request{FirstName: "Dev", Email: addr, Password: "Dev-Passw0rd", YearOfBirth: strconv.Itoa(time.Now().Year() - 25),
		State: "29", District: "2901", TncVersion: "v1", Client: "127.0.0.1"}
}

// --dev-mail prints the code to the terminal the server was started from,
// never to its log; without it and without SMTP, sign-up says email
// verification is unavailable.
func TestDevMail(t *testing.T) {
	var terminal bytes.Buffer
	a, logs := openForSignUp(t, Config{DevMail: true, DevMailOutput: &terminal})
	if _, err := a.SignUp.SignUp(context.Background(), devRequest("dev@example.org")); err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`\b\d{6}\b`).FindString(terminal.String())
	if code == "" || !strings.Contains(terminal.String(), "dev@example.org") {
		t.Fatalf("terminal shows %q", terminal.String())
	}
	if strings.Contains(logs.String(), code) || strings.Contains(logs.String(), "dev@example.org") {
		t.Fatal("the log holds the code or the address")
	}
	if !strings.Contains(logs.String(), "--dev-mail") {
		t.Fatal("no warning that --dev-mail is on")
	}

	b, _ := openForSignUp(t, Config{})
	_, err := b.SignUp.SignUp(context.Background(), devRequest("dev@example.org"))
	if roster.ErrorCode(err) != roster.EUNAVAILABLE || roster.ErrorMessage(err) != notify.MsgNoEmail {
		t.Fatalf("no SMTP, no --dev-mail: %v", err)
	}
}

func TestMessageSettingsAreChecked(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{SMTPAddr: "mail.example"}, "--smtp-addr"},
		{Config{SMTPAddr: "mail.example:587"}, "From address is required"},
		{Config{SMTPAddr: "mail.example:587", SMTPFrom: "roster@example.org", SMTPTLS: "maybe"}, "want starttls, tls or none"},
		{Config{SMTPFrom: "roster@example.org"}, "need --smtp-addr"},
		{Config{SMSGatewayURL: "https://sms.example/send"}, "--sms-gateway-url"},
		{Config{SMSGatewayBody: "to={number}&text={text}"}, "needs --sms-gateway-url"},
	} {
		err := c.cfg.WithDefaults().Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	ok := Config{SMTPAddr: "mail.example:587", SMTPFrom: "roster@example.org", SMSGatewayURL: "https://sms.example/send",
		SMSGatewayBody: "mobile={number10}&msg={text}"}
	if err := ok.WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
}
