package notify

import (
	"bytes"
	"fmt"
	"text/template"

	"github.com/roster-dev/roster/internal/i18n"
)

// Template names a message. Every text Roster sends is named here; the
// texts themselves, in every language, are internal/i18n's mail_ keys.
type Template string

// The templates.
const (
	// SignUpCode carries the code that verifies a new account's address.
	SignUpCode Template = "signup_code"
	// SignUpExisting tells the owner of an address that someone tried to
	// sign up with it, instead of a code: sign-up must not reveal who is
	// registered, and the owner learns of the attempt.
	SignUpExisting Template = "signup_existing"
	// DeclarationApproved and DeclarationRejected tell a teacher the
	// state's answer to their self-declaration (issue 11.2); a rejection
	// carries the reviewer's reason, which is about the teacher and goes
	// only to the teacher's own verified address.
	DeclarationApproved Template = "declaration_approved"
	DeclarationRejected Template = "declaration_rejected"
	// ResetCode carries the code that sets a forgotten password.
	ResetCode Template = "reset_code"
	// AdminResetCode carries a reset code an administrator asked for on
	// the user's behalf; the administrator never sees it.
	AdminResetCode Template = "admin_reset_code"
	// ActivationCode carries the code with which a user created by an
	// upload without a password sets their first one.
	ActivationCode Template = "activation_code"
)

// Data is what templates may use. Keep it small: every field is a
// possible leak in a message sent to the wrong address.
type Data struct {
	Code    string
	Minutes int
	// Org is the school a decision is about; Reason a rejection's reason.
	Org    string
	Reason string
}

// parts are what a template renders: the e-mail's subject and body and the
// SMS. Their texts are in internal/i18n's catalogues as
// mail_<template>_<part>, in every language.
var parts = []string{"subject", "email", "sms"}

// templates lists every Template; each must have all parts in every
// language (checked when the package loads).
var templates = []Template{SignUpCode, SignUpExisting, DeclarationApproved, DeclarationRejected,
	ResetCode, AdminResetCode, ActivationCode}

var parsed = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range templates {
		for _, part := range parts {
			for _, lang := range i18n.Languages {
				id := "mail_" + string(name) + "_" + part
				text, ok := i18n.Raw(lang, id)
				s, isString := text.(string)
				if !ok || !isString {
					panic("notify: no text " + id + " in " + lang)
				}
				key := lang + "/" + string(name) + "/" + part
				out[key] = template.Must(template.New(key).Option("missingkey=error").Parse(s))
			}
		}
	}
	return out
}()

func execute(key string, d Data) (string, error) {
	t, ok := parsed[key]
	if !ok {
		return "", fmt.Errorf("notify: no template %s", key)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("notify: template %s: %w", key, err)
	}
	return b.String(), nil
}

// render returns the subject (email only) and body of t for ch in lang
// (English when lang is not supported).
func (t Template) render(ch Channel, lang string, d Data) (subject, body string, err error) {
	if !i18n.Supported(lang) {
		lang = i18n.Default
	}
	base := lang + "/" + string(t) + "/"
	if ch == Email {
		if subject, err = execute(base+"subject", d); err != nil {
			return "", "", err
		}
		body, err = execute(base+"email", d)
		return subject, body, err
	}
	body, err = execute(base+"sms", d)
	return "", body, err
}
