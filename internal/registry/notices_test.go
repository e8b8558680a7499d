package registry_test

import (
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/notify"
	"github.com/roster-dev/roster/internal/notify/notifytest"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// verifiedTeacher is a self-signed-up teacher whose email or phone is
// verified, as sign-up leaves it.
func (w *declWorld) verifiedTeacher(t *testing.T, email, phone string) *roster.Principal {
	t.Helper()
	yes := true
	in := registry.NewUser{User: roster.User{FirstName: "Test", LastName: "Teacher", Email: email, Phone: phone}, Password: "secret-pass-1"}
	if email != "" {
		in.EmailVerified = &yes
	} else {
		in.PhoneVerified = &yes
	}
	v, err := w.reg.CreateUser(w.ctx, roster.SystemPrincipal, in)
	if err != nil {
		t.Fatal(err)
	}
	return w.principal(t, v.ID)
}

// TestDecisionNoticesReachTheTeacher reads the notices where a teacher
// would: approval and rejection (with its reason) by email from mailpit,
// and by SMS from the gateway for a teacher with only a verified phone.
func TestDecisionNoticesReachTheTeacher(t *testing.T) {
	mail := notifytest.NewMailpit(t)
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDeclWorld(t, db)
		gw := notifytest.NewGateway(t)
		w.reg.Notices = &notify.Notifier{Email: mail.Driver(t), SMS: gw.Driver(t)}
		tag := strings.ToLower(roster.NewID())

		approved := "approved-" + tag + "@example.org"
		a := w.verifiedTeacher(t, approved, "")
		if _, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, w.declare(t, a, w.schoolA, "N-"+tag).ID, registry.Decision{Approve: true}); err != nil {
			t.Fatal(err)
		}
		got := mail.WaitMessages(t, approved, 1)
		if len(got) != 1 || !strings.Contains(got[0].Subject, "approved") || !strings.Contains(got[0].Text, w.schoolA.Name) {
			t.Errorf("approval notice %+v", got)
		}

		rejected := "rejected-" + tag + "@example.org"
		r := w.verifiedTeacher(t, rejected, "")
		reason := "No teacher with this id works here."
		if _, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, w.declare(t, r, w.schoolA, "R-"+tag).ID, registry.Decision{Reason: reason}); err != nil {
			t.Fatal(err)
		}
		got = mail.WaitMessages(t, rejected, 1)
		if len(got) != 1 || !strings.Contains(got[0].Subject, "not approved") || !strings.Contains(got[0].Text, reason) {
			t.Errorf("rejection notice %+v", got)
		}

		phone := "+9198450" + tagDigits(tag)
		sms := w.verifiedTeacher(t, "", phone)
		outs, err := w.reg.DecideDeclarations(w.ctx, w.schoolAdmin, w.schoolA.ID, []string{w.declare(t, sms, w.schoolA, "S-"+tag).ID}, registry.Decision{Reason: reason})
		if err != nil || outs[0].Error != nil {
			t.Fatalf("bulk reject: %v %+v", err, outs)
		}
		if texts := gw.To(phone); len(texts) != 1 || !strings.Contains(texts[0].Text, reason) {
			t.Errorf("SMS notices %+v", texts)
		}
	})
}

// tagDigits is five digits from tag, so parallel runs use their own number.
func tagDigits(tag string) string {
	var b strings.Builder
	for _, r := range tag {
		b.WriteByte('0' + byte(r)%10)
		if b.Len() == 5 {
			break
		}
	}
	return b.String()
}

// TestDecisionStandsWhenTheNoticeFails: a message server that is down
// does not undo or fail the decision; neither does a teacher without a
// verified address.
func TestDecisionStandsWhenTheNoticeFails(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDeclWorld(t, db)
		down, err := notify.NewSMTP(notify.SMTPConfig{Addr: "127.0.0.1:1", From: "roster@example.org", TLS: "none"})
		if err != nil {
			t.Fatal(err)
		}
		w.reg.Notices = &notify.Notifier{Email: down}
		teacher := w.verifiedTeacher(t, "down-"+strings.ToLower(roster.NewID())+"@example.org", "")
		v, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, w.declare(t, teacher, w.schoolA, "D-1").ID, registry.Decision{Approve: true})
		if err != nil || v.Status != roster.DeclarationApproved {
			t.Fatalf("decision failed with the notice: %+v %v", v, err)
		}
		mine, err := w.reg.MyDeclaration(w.ctx, teacher)
		if err != nil || mine.Status != roster.DeclarationApproved {
			t.Fatalf("decision undone: %+v %v", mine, err)
		}
		unverified := w.teacher(t)
		if _, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, w.declare(t, unverified, w.schoolA, "D-2").ID, registry.Decision{Reason: "no"}); err != nil {
			t.Fatal(err)
		}
	})
}
