package notify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/i18n"
	"github.com/roster-dev/roster/internal/notify"
)

type recorder struct{ subject, body string }

func (r *recorder) Deliver(_ context.Context, _, subject, body string) error {
	r.subject, r.body = subject, body
	return nil
}

// Messages are written in the language of the request that caused them
// (the sign-up page's), or the one the message names; the code and the
// minutes are in every one of them.
func TestMessagesInTheRequestsLanguage(t *testing.T) {
	cases := []struct {
		ctxLang, msgLang, subject, body string
	}{
		{"", "", "Your Roster verification code", "Your verification code is 314159."},
		{"hi", "", "आपका Roster सत्यापन कोड", "आपका सत्यापन कोड 314159 है।"},
		{"hi", "ta", "உங்கள் Roster சரிபார்ப்புக் குறியீடு", "உங்கள் சரிபார்ப்புக் குறியீடு 314159."},
		{"", "xx", "Your Roster verification code", "Your verification code is 314159."},
	}
	for _, c := range cases {
		mail, sms := &recorder{}, &recorder{}
		n := &notify.Notifier{Email: mail, SMS: sms}
		ctx := context.Background()
		if c.ctxLang != "" {
			ctx = i18n.WithLang(ctx, c.ctxLang)
		}
		m := notify.Message{Template: notify.SignUpCode, Data: notify.Data{Code: "314159", Minutes: 15}, Lang: c.msgLang,
			Channel: notify.Email, To: "a@example.org"}
		if err := n.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
		if mail.subject != c.subject || !strings.HasPrefix(mail.body, c.body) || !strings.Contains(mail.body, "15") {
			t.Errorf("%s/%s: email %q / %q", c.ctxLang, c.msgLang, mail.subject, mail.body)
		}
		m.Channel, m.To = notify.SMS, "+919876543210"
		if err := n.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sms.body, "314159") || !strings.Contains(sms.body, "15") {
			t.Errorf("%s/%s: sms %q", c.ctxLang, c.msgLang, sms.body)
		}
	}
	// Every template has every part in every language: the package would
	// not have started otherwise (parsed panics), so rendering the other
	// template in Tamil must work too.
	mail := &recorder{}
	n := &notify.Notifier{Email: mail}
	if err := n.Send(i18n.WithLang(context.Background(), "ta"), notify.Message{Template: notify.SignUpExisting, Channel: notify.Email, To: "a@example.org"}); err != nil {
		t.Fatal(err)
	}
	if want := i18n.T("ta", "mail_signup_existing_subject", nil); mail.subject != want {
		t.Errorf("subject %q, want %q", mail.subject, want)
	}
}
