// Sign in with a username, email or phone number and a password, or with
// the organisation's single sign-on when the server has one configured.
import * as api from './api.js';
import { h, clear, field, showFieldErrors, clearFieldErrors } from './ui.js';

export async function render(main, _session, { app }) {
  const loginInput = h('input', { type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: false });
  const pwInput = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const formError = h('div', { class: 'notice error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { novalidate: true, 'aria-labelledby': 'signin-title' },
    formError,
    field({ label: 'Username, email or phone', name: 'login', control: loginInput }),
    field({ label: 'Password', name: 'password', control: pwInput }),
    h('div', { class: 'actions' }, submit));
  const sso = h('div');
  clear(main, h('section', { class: 'card narrow' },
    h('h1', { id: 'signin-title' }, 'Sign in to Roster'), form, sso));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.textContent = '';
    const body = { login: loginInput.value.trim(), password: pwInput.value };
    const missing = {};
    if (!body.login) missing.login = ['enter your username, email or phone number'];
    if (!body.password) missing.password = ['enter your password'];
    if (Object.keys(missing).length) { showFieldErrors(form, missing); return; }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      await api.post('auth/login', body, { quiet401: true });
      await app.signedIn();
    } catch (err) {
      submit.disabled = false;
      submit.textContent = 'Sign in';
      if (err.status === 401) {
        // The server does not say which of the two was wrong, on purpose.
        formError.textContent = 'That username, email or phone and password do not match an active account. Check both and try again.';
        pwInput.focus();
        return;
      }
      const rest = showFieldErrors(form, err.fields);
      if (!Object.keys(err.fields || {}).length || rest.length) formError.textContent = [err.message, ...rest].join(' ');
    }
  });

  // The single sign-on button appears only when the server says an
  // identity provider is configured. The server runs the redirect to the
  // provider and sets the same session cookie on the way back.
  api.get('auth/config', { quiet401: true }).then((cfg) => {
    const o = cfg && cfg.oidc;
    if (!o || !o.enabled) return;
    clear(sso, h('p', { class: 'oidc-sep' }, 'or'),
      h('a', { class: 'button secondary', href: o.loginUrl || `${api.BASE}/auth/oidc/login`, id: 'oidc-login' },
        `Sign in with ${o.name || 'single sign-on'}`));
  }).catch(() => {});
  loginInput.focus();
  return null;
}

