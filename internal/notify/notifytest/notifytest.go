// Package notifytest gives tests the real servers messages go through: a
// mailpit SMTP server (started by .ci/run; see DEVELOPERS.md) read back
// through its HTTP API, and a local HTTP SMS gateway that keeps what it
// was sent. Tests read one-time codes from there, as a user would.
package notifytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/notify"
)

// Mailpit is a running mailpit: its SMTP address and its HTTP API.
type Mailpit struct {
	SMTPAddr string
	API      string
}

// NewMailpit returns the mailpit named by ROSTER_TEST_SMTP_ADDR and
// ROSTER_TEST_MAILPIT_API; without them the test is skipped, or fails
// when CI=true.
func NewMailpit(t testing.TB) *Mailpit {
	t.Helper()
	m := &Mailpit{SMTPAddr: os.Getenv("ROSTER_TEST_SMTP_ADDR"), API: os.Getenv("ROSTER_TEST_MAILPIT_API")}
	if m.SMTPAddr == "" || m.API == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ROSTER_TEST_SMTP_ADDR and ROSTER_TEST_MAILPIT_API must name a running mailpit when CI=true (.ci/run starts one)")
		}
		t.Skip("no mailpit: set ROSTER_TEST_SMTP_ADDR and ROSTER_TEST_MAILPIT_API (see DEVELOPERS.md)")
	}
	return m
}

// Driver is the SMTP driver pointed at this mailpit.
func (m *Mailpit) Driver(t testing.TB) *notify.SMTP {
	t.Helper()
	d, err := notify.NewSMTP(notify.SMTPConfig{Addr: m.SMTPAddr, From: "roster@example.org", TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Mail is one message as mailpit received it.
type Mail struct {
	ID      string
	Subject string
	Text    string
}

// Messages returns every message to addr, newest first.
func (m *Mailpit) Messages(t testing.TB, addr string) []Mail {
	t.Helper()
	var list struct {
		Messages []struct {
			ID      string `json:"ID"`
			Subject string `json:"Subject"`
		} `json:"messages"`
	}
	m.get(t, "/api/v1/search?query="+url.QueryEscape(`to:"`+addr+`"`), &list)
	out := make([]Mail, 0, len(list.Messages))
	for _, msg := range list.Messages {
		var full struct {
			Text string `json:"Text"`
		}
		m.get(t, "/api/v1/message/"+url.PathEscape(msg.ID), &full)
		out = append(out, Mail{ID: msg.ID, Subject: msg.Subject, Text: full.Text})
	}
	return out
}

// WaitMessages waits up to ten seconds for n messages to addr (mailpit
// stores a message a moment after SMTP accepted it).
func (m *Mailpit) WaitMessages(t testing.TB, addr string, n int) []Mail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := m.Messages(t, addr)
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) < n {
				t.Fatalf("mailpit has %d messages to the test address, want %d", len(got), n)
			}
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Code is the one-time code in the newest message to addr.
func (m *Mailpit) Code(t testing.TB, addr string) string {
	t.Helper()
	return CodeIn(t, m.WaitMessages(t, addr, 1)[0].Text)
}

func (m *Mailpit) get(t testing.TB, path string, v any) {
	t.Helper()
	res, err := http.Get(m.API + path)
	if err != nil {
		t.Fatalf("mailpit API: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("mailpit API %s: %d %s", path, res.StatusCode, b)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("mailpit API %s: %v", path, err)
	}
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// CodeIn finds the six-digit code in a message text.
func CodeIn(t testing.TB, text string) string {
	t.Helper()
	m := codeRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no six-digit code in the message")
	}
	return m[1]
}

// SMS is one request the gateway received, decoded.
type SMS struct {
	To, Text string
}

// Gateway is a local HTTP SMS gateway: a real HTTP server that keeps the
// form posts it receives.
type Gateway struct {
	*httptest.Server
	mu       sync.Mutex
	received []SMS
}

// NewGateway starts a gateway; its URL and body template for
// notify.GatewayConfig are GatewayConfig's.
func NewGateway(t testing.TB) *Gateway {
	g := &Gateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		g.received = append(g.received, SMS{To: r.PostForm.Get("to"), Text: r.PostForm.Get("message")})
		g.mu.Unlock()
		fmt.Fprint(w, `{"status":"queued"}`)
	}))
	t.Cleanup(g.Close)
	return g
}

// Config is the gateway as Roster is configured to call it.
func (g *Gateway) Config() notify.GatewayConfig {
	return notify.GatewayConfig{URL: g.URL + "/send?sender=ROSTER", Body: "to={number}&message={text}"}
}

// Driver is the SMS driver pointed at this gateway.
func (g *Gateway) Driver(t testing.TB) *notify.Gateway {
	t.Helper()
	d, err := notify.NewGateway(g.Config())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// To returns the messages sent to number (E.164), oldest first.
func (g *Gateway) To(number string) []SMS {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []SMS
	for _, s := range g.received {
		if s.To == number {
			out = append(out, s)
		}
	}
	return out
}

// Code is the code in the newest SMS to number.
func (g *Gateway) Code(t testing.TB, number string) string {
	t.Helper()
	got := g.To(number)
	if len(got) == 0 {
		t.Fatalf("the gateway received no SMS for the test number")
	}
	return CodeIn(t, got[len(got)-1].Text)
}
