package notify

import (
	"bytes"
	"fmt"
	"text/template"
)

// Template names a message. Every text Roster sends is here, so that a
// translation has one place to start from.
type Template string

// The templates.
const (
	// SignUpCode carries the code that verifies a new account's address.
	SignUpCode Template = "signup_code"
	// SignUpExisting tells the owner of an address that someone tried to
	// sign up with it, instead of a code: sign-up must not reveal who is
	// registered, and the owner learns of the attempt.
	SignUpExisting Template = "signup_existing"
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
}

type texts struct{ subject, email, sms string }

var templates = map[Template]texts{
	SignUpCode: {
		subject: "Your Roster verification code",
		email: "Your verification code is {{.Code}}.\n\n" +
			"Enter it on the sign-up page within {{.Minutes}} minutes to activate your account. " +
			"If you did not sign up, ignore this message.\n",
		sms: "{{.Code}} is your Roster verification code. It expires in {{.Minutes}} minutes.",
	},
	SignUpExisting: {
		subject: "Someone tried to sign up with your address",
		email: "Someone tried to create a Roster account with this address, which already has one.\n\n" +
			"If it was you, sign in instead, or reset your password. If not, you can ignore this message.\n",
		sms: "Someone tried to sign up for Roster with this number, which already has an account. If it was you, sign in instead.",
	},
	ResetCode: {
		subject: "Your Roster password reset code",
		email: "Your password reset code is {{.Code}}.\n\n" +
			"Enter it on the \"Forgot password?\" page, with the new password you choose, within {{.Minutes}} minutes. " +
			"Every device signed in to your account will be signed out. " +
			"If you did not ask to reset your password, ignore this message: your password stays as it is.\n",
		sms: "{{.Code}} is your Roster password reset code. It expires in {{.Minutes}} minutes. If you did not ask for it, ignore this message.",
	},
	ActivationCode: {
		subject: "Your Roster account is ready: choose your password",
		email: "Your organisation created a Roster account for you.\n\n" +
			"To choose your password, open the Roster sign-in page, choose \"Forgot password?\", enter this address, " +
			"then the code {{.Code}} and the password you choose, within {{.Minutes}} minutes. " +
			"If the code has expired, ask for a new one on the same page.\n",
		sms: "Your organisation created a Roster account for you. Code {{.Code}}: use it on the Forgot password page to choose your password within {{.Minutes}} minutes.",
	},
	AdminResetCode: {
		subject: "Choose a new Roster password",
		email: "An administrator of your organisation asked Roster to let you choose a new password.\n\n" +
			"Your code is {{.Code}}. On the sign-in page choose \"Forgot password?\", enter this address, the code " +
			"and the new password you choose, within {{.Minutes}} minutes. " +
			"The administrator does not see the code or your new password.\n",
		sms: "{{.Code}} is your Roster code to choose a new password, asked for by your administrator. Use it on the Forgot password page within {{.Minutes}} minutes.",
	},
}

var parsed = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for name, t := range templates {
		for part, text := range map[string]string{"subject": t.subject, "email": t.email, "sms": t.sms} {
			key := string(name) + "/" + part
			out[key] = template.Must(template.New(key).Option("missingkey=error").Parse(text))
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

// render returns the subject (email only) and body of t for ch.
func (t Template) render(ch Channel, d Data) (subject, body string, err error) {
	if ch == Email {
		if subject, err = execute(string(t)+"/subject", d); err != nil {
			return "", "", err
		}
		body, err = execute(string(t)+"/email", d)
		return subject, body, err
	}
	body, err = execute(string(t)+"/sms", d)
	return "", body, err
}
