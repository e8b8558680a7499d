// Two password pages. "Forgot password?" (public): a code goes to the
// user's verified email or mobile number, then code and new password set
// it; the server answers the same whether or not the address is known.
// "Choose your password": shown before anything else to a user whose
// password an administrator or an upload chose.
import * as api from './api.js';
import { h, clear, field, notice, showFieldErrors, clearFieldErrors } from './ui.js';

function showError(form, formError, err) {
  const fields = { ...err.fields };
  for (const f of ['email', 'phone']) if (fields[f]) fields.contact = [...(fields.contact || []), ...fields[f]], delete fields[f];
  const rest = showFieldErrors(form, fields);
  if (!Object.keys(fields).length || rest.length) formError.textContent = [err.message, ...rest].join(' ');
}

function contactOf(value) {
  const c = value.trim();
  return c.includes('@') ? { email: c } : { phone: c };
}

export async function renderForgot(main) {
  const contact = h('input', { type: 'text', autocomplete: 'email', required: true, autocapitalize: 'none', spellcheck: false });
  const formError = h('div', { class: 'notice error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Send me a code');
  const form = h('form', { novalidate: true, id: 'forgot-form', 'aria-labelledby': 'forgot-title' },
    formError,
    field({ label: 'Email or mobile number', name: 'contact', control: contact,
      hint: 'The one your account has verified. We send a code there.' }),
    h('div', { class: 'actions' }, submit));
  clear(main, h('section', { class: 'card narrow' },
    h('h1', { id: 'forgot-title' }, 'Forgot your password?'), form,
    h('p', { class: 'hint' }, 'Remembered it? ', h('a', { href: '#/login' }, 'Sign in'))));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.textContent = '';
    if (!contact.value.trim()) { showFieldErrors(form, { contact: ['enter your email or mobile number'] }); return; }
    submit.disabled = true;
    const c = contactOf(contact.value);
    try {
      await api.post('auth/reset', c, { quiet401: true });
      codeStep(main, c);
    } catch (err) {
      submit.disabled = false;
      showError(form, formError, err);
    }
  });
  contact.focus();
  return null;
}

function codeStep(main, contact) {
  const code = h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, maxlength: 6 });
  const pw = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const formError = h('div', { class: 'notice error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Set my password');
  const form = h('form', { novalidate: true, id: 'reset-form', 'aria-labelledby': 'reset-title' },
    formError,
    field({ label: 'Code', name: 'code', control: code, hint: 'Six digits. The code works for 10 minutes.' }),
    field({ label: 'New password', name: 'newPassword', control: pw, hint: '8 to 128 characters.' }),
    h('div', { class: 'actions' }, submit));
  clear(main, h('section', { class: 'card narrow' },
    h('h1', { id: 'reset-title' }, 'Check your messages'),
    notice('info', `If ${contact.email || contact.phone} belongs to an account and is verified, we sent a code to it.`),
    form,
    h('p', { class: 'hint' }, 'No code? ', h('a', { href: '#/forgot' }, 'Ask again'))));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.textContent = '';
    submit.disabled = true;
    try {
      await api.post('auth/reset/confirm', { ...contact, code: code.value.trim(), newPassword: pw.value }, { quiet401: true });
      clear(main, h('section', { class: 'card narrow', id: 'reset-done' },
        h('h1', null, 'Your password is set'),
        notice('ok', 'Every other device was signed out. Sign in with your new password.'),
        h('p', null, h('a', { class: 'button', href: '#/login' }, 'Sign in'))));
    } catch (err) {
      submit.disabled = false;
      showError(form, formError, err);
    }
  });
  code.focus();
}

export async function renderChoose(main, _session, { app }) {
  const current = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const formError = h('div', { class: 'notice error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Save my password');
  const form = h('form', { novalidate: true, id: 'choose-form', 'aria-labelledby': 'choose-title' },
    formError,
    field({ label: 'Password you were given', name: 'currentPassword', control: current }),
    field({ label: 'Your new password', name: 'newPassword', control: next, hint: '8 to 128 characters. Only you will know it.' }),
    h('div', { class: 'actions' }, submit));
  clear(main, h('section', { class: 'card narrow' },
    h('h1', { id: 'choose-title' }, 'Choose your password'),
    notice('info', 'Your password was set by an administrator or an upload. Choose your own before you go on.'),
    form));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.textContent = '';
    submit.disabled = true;
    try {
      await api.post('me/password', { currentPassword: current.value, newPassword: next.value });
      await app.signedIn();
    } catch (err) {
      submit.disabled = false;
      showError(form, formError, err);
    }
  });
  current.focus();
  return null;
}

export const forgot = { render: renderForgot };
export const choose = { render: renderChoose };
