package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/notify"
	"github.com/roster-dev/roster/internal/notify/notifytest"
)

func code(d notify.Data) notify.Message {
	return notify.Message{Template: notify.SignUpCode, Data: d}
}

func TestEmailThroughSMTP(t *testing.T) {
	mp := notifytest.NewMailpit(t)
	n := &notify.Notifier{Email: mp.Driver(t)}
	to := "smtp-" + roster.NewID() + "@example.org"
	m := code(notify.Data{Code: "314159", Minutes: 10})
	m.Channel, m.To = notify.Email, to
	if err := n.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := mp.WaitMessages(t, to, 1)
	if got[0].Subject != "Your Roster verification code" || notifytest.CodeIn(t, got[0].Text) != "314159" {
		t.Fatalf("mailpit got subject %q text %q", got[0].Subject, got[0].Text)
	}
}

func TestSMSThroughGateway(t *testing.T) {
	gw := notifytest.NewGateway(t)
	n := &notify.Notifier{SMS: gw.Driver(t)}
	m := code(notify.Data{Code: "271828", Minutes: 10})
	m.Channel, m.To = notify.SMS, "+919876543210"
	if err := n.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := gw.Code(t, "+919876543210"); got != "271828" {
		t.Fatalf("gateway got code %q", got)
	}
}

func TestGatewayJSONBodyAndTenDigits(t *testing.T) {
	var got map[string]string
	var header http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header = r.Header
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	d, err := notify.NewGateway(notify.GatewayConfig{URL: srv.URL, ContentType: "application/json",
		Body: `{"mobile":"{number10}","text":"{text}"}`, Authorization: "Bearer gw-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Deliver(context.Background(), "+919876543210", "", `say "hi"`+"\n"); err != nil {
		t.Fatal(err)
	}
	if got["mobile"] != "9876543210" || got["text"] != "say \"hi\"\n" || header.Get("Authorization") != "Bearer gw-secret" {
		t.Fatalf("gateway got %v, Authorization %q", got, header.Get("Authorization"))
	}
}

func TestGatewayNeedsPlaceholders(t *testing.T) {
	for _, c := range []notify.GatewayConfig{
		{URL: "ftp://sms.example/?to={number}&t={text}"},
		{URL: "https://sms.example/send?to={number}"},
		{URL: "https://sms.example/send", Body: "text={text}"},
	} {
		if _, err := notify.NewGateway(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// Callers log send errors, so no error may carry the number, the address
// or the text.
func TestSendErrorsCarryNoPersonalData(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, r.URL.RawQuery, http.StatusBadGateway)
	}))
	defer down.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	m := code(notify.Data{Code: "161803", Minutes: 10})
	m.Channel, m.To = notify.SMS, "+919876543210"
	for _, url := range []string{down.URL, closed.URL} {
		d, err := notify.NewGateway(notify.GatewayConfig{URL: url + "/?to={number}&text={text}"})
		if err != nil {
			t.Fatal(err)
		}
		err = (&notify.Notifier{SMS: d}).Send(context.Background(), m)
		if roster.ErrorCode(err) != roster.EUNAVAILABLE {
			t.Fatalf("gateway failure: %v", err)
		}
		for _, secret := range []string{"9876543210", "161803"} {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q carries personal data", err)
			}
		}
	}
	smtpDown, err := notify.NewSMTP(notify.SMTPConfig{Addr: closed.Listener.Addr().String(), From: "roster@example.org", TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	m.Channel, m.To = notify.Email, "secret-person@example.org"
	err = (&notify.Notifier{Email: smtpDown}).Send(context.Background(), m)
	if roster.ErrorCode(err) != roster.EUNAVAILABLE || strings.Contains(err.Error(), "secret-person") {
		t.Fatalf("SMTP failure: %v", err)
	}
}

func TestUnconfiguredChannelIsUnavailable(t *testing.T) {
	n := &notify.Notifier{}
	m := code(notify.Data{Code: "123456", Minutes: 10})
	m.Channel, m.To = notify.Email, "a@example.org"
	if err := n.Send(context.Background(), m); roster.ErrorMessage(err) != notify.MsgNoEmail || roster.ErrorCode(err) != roster.EUNAVAILABLE {
		t.Fatalf("no SMTP: %v", err)
	}
	m.Channel = notify.SMS
	if err := n.Send(context.Background(), m); roster.ErrorMessage(err) != notify.MsgNoSMS {
		t.Fatalf("no gateway: %v", err)
	}
	if n.Can(notify.Email) || n.Can(notify.SMS) {
		t.Fatal("an empty notifier claims a channel")
	}
}

func TestTerminalPrintsTheMessage(t *testing.T) {
	var out bytes.Buffer
	n := &notify.Notifier{Email: notify.NewTerminal(&out, notify.Email)}
	m := code(notify.Data{Code: "424242", Minutes: 10})
	m.Channel, m.To = notify.Email, "dev@example.org"
	if err := n.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "424242") || !strings.Contains(out.String(), "dev@example.org") {
		t.Fatalf("terminal printed %q", out.String())
	}
}
