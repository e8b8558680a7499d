package notify

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// Terminal is the development driver (--dev-mail): it prints each message
// to the server's own terminal, never to the log, so a developer without a
// mail server can still sign up. It must never run in production: the
// codes it prints open accounts.
type Terminal struct {
	mu  sync.Mutex
	out io.Writer
	ch  Channel
}

// NewTerminal prints messages of ch to out (the process's stderr).
func NewTerminal(out io.Writer, ch Channel) *Terminal { return &Terminal{out: out, ch: ch} }

// Deliver prints the message.
func (t *Terminal) Deliver(_ context.Context, to, subject, body string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, err := fmt.Fprintf(t.out, "\n--- dev-mail (%s) to %s ---\n%s%s\n---\n", t.ch, to, prefixed(subject), body)
	return err
}

func prefixed(subject string) string {
	if subject == "" {
		return ""
	}
	return "Subject: " + subject + "\n\n"
}
