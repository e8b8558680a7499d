// Package notify sends the messages Roster owes its users: verification
// codes now, decision notices later. A message is a named template (one
// list, templates.go, for a later translation) rendered with its data and
// handed to the driver of its channel: email over SMTP, SMS through an
// HTTP gateway. Nothing here logs, and no error it returns carries the
// address, the text or the code: callers may log those errors.
package notify

import (
	"context"
	"errors"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/i18n"
)

// Channel is how a message travels.
type Channel string

// The channels.
const (
	Email Channel = "email"
	SMS   Channel = "sms"
)

// Message is one message to one address.
type Message struct {
	Channel  Channel
	To       string // an email address, or a phone number in E.164
	Template Template
	Data     Data
	// Lang is the language to write in; empty means the language of the
	// request in ctx (i18n.Lang): a sign-up's messages follow the page.
	Lang string
}

// Driver delivers rendered text on one channel. subject is empty for SMS.
type Driver interface {
	Deliver(ctx context.Context, to, subject, body string) error
}

// Sender sends messages; Notifier is the one implementation, tests
// reach real servers through it.
type Sender interface {
	Send(ctx context.Context, m Message) error
	// Can reports whether messages on ch can be sent at all, so sign-up
	// can refuse before creating an account nobody can verify.
	Can(ch Channel) bool
}

// Notifier routes a message to the driver of its channel; a nil driver
// means the channel is not configured.
type Notifier struct {
	Email Driver
	SMS   Driver
}

// Messages of the refusals callers pass on.
const (
	MsgNoEmail = "email verification is not available on this server; use a phone number or ask an administrator"
	MsgNoSMS   = "SMS verification is not available on this server; use an email address or ask an administrator"
	MsgFailed  = "the message could not be sent; try again later"
)

func (n *Notifier) driver(ch Channel) Driver {
	switch ch {
	case Email:
		return n.Email
	case SMS:
		return n.SMS
	}
	return nil
}

// Can reports whether ch has a driver.
func (n *Notifier) Can(ch Channel) bool { return n != nil && n.driver(ch) != nil }

// Send renders m and delivers it. An unconfigured channel is EUNAVAILABLE
// with a message saying so; a delivery failure is EUNAVAILABLE too, with
// the driver's error kept for the operator (never its text: see sendError).
func (n *Notifier) Send(ctx context.Context, m Message) error {
	if !n.Can(m.Channel) {
		msg := MsgNoEmail
		if m.Channel == SMS {
			msg = MsgNoSMS
		}
		return &roster.Error{Code: roster.EUNAVAILABLE, Message: msg}
	}
	lang := m.Lang
	if lang == "" {
		lang = i18n.Lang(ctx)
	}
	subject, body, err := m.Template.render(m.Channel, lang, m.Data)
	if err != nil {
		return err
	}
	if err := n.driver(m.Channel).Deliver(ctx, m.To, subject, body); err != nil {
		return errors.Join(&roster.Error{Code: roster.EUNAVAILABLE, Message: MsgFailed}, err)
	}
	return nil
}

// sendError is a delivery failure described without its details: SMTP
// replies and HTTP client errors quote the recipient or the gateway URL
// (which holds the number and the text), and callers log errors.
type sendError struct {
	what string
}

func (e *sendError) Error() string { return "notify: " + e.what }

func failed(what string) error { return &sendError{what: what} }
