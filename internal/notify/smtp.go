package notify

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/wneessen/go-mail"
)

// SMTPConfig is how to reach the mail server.
type SMTPConfig struct {
	Addr     string // host:port
	From     string // the From address
	Username string // empty: no authentication
	Password string
	// TLS is "starttls" (the default: required), "tls" (implicit, port
	// 465) or "none" (a relay on the same host or a test server only).
	TLS string
}

// SMTP delivers email through a mail server with go-mail.
type SMTP struct {
	cfg  SMTPConfig
	host string
	port int
}

// NewSMTP checks cfg and returns the driver; it connects per message.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	host, p, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("notify: SMTP address %q: want host:port", cfg.Addr)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("notify: SMTP address %q: bad port", cfg.Addr)
	}
	if cfg.From == "" {
		return nil, fmt.Errorf("notify: an SMTP From address is required")
	}
	switch cfg.TLS {
	case "", "starttls", "tls", "none":
	default:
		return nil, fmt.Errorf("notify: SMTP TLS %q: want starttls, tls or none", cfg.TLS)
	}
	if err := mail.NewMsg().From(cfg.From); err != nil {
		return nil, fmt.Errorf("notify: SMTP From address is not valid")
	}
	return &SMTP{cfg: cfg, host: host, port: port}, nil
}

func (s *SMTP) options() []mail.Option {
	opts := []mail.Option{mail.WithPort(s.port), mail.WithTimeout(15 * time.Second)}
	switch s.cfg.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(s.cfg.Username), mail.WithPassword(s.cfg.Password))
	}
	return opts
}

// Deliver sends one plain-text message.
func (s *SMTP) Deliver(ctx context.Context, to, subject, body string) error {
	m := mail.NewMsg()
	if err := m.From(s.cfg.From); err != nil {
		return failed("bad From address")
	}
	if err := m.To(to); err != nil {
		return failed("bad recipient address")
	}
	m.Subject(subject)
	m.SetBodyString(mail.TypeTextPlain, body)
	c, err := mail.NewClient(s.host, s.options()...)
	if err != nil {
		return failed("SMTP client: " + fmt.Sprintf("%T", err))
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		// The server's reply may quote the recipient: say only that it failed.
		return failed("SMTP delivery failed")
	}
	return nil
}
