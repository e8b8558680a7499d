// Sign in with a username, email or phone number and a password, or with
// the organisation's single sign-on when the server has one configured.
import * as api from './api.js';
import { h, clear, field, showFieldErrors, clearFieldErrors } from './ui.js';
import { t } from './i18n.js';

// Why a single sign-on attempt came back to this page; the server sends
// one of these codes, never details about the person.
const ssoErrors = {
  idp_error: 'Single sign-on did not complete: it was cancelled or the sign-in service refused it. Try again.',
  bad_state: 'The single sign-on took too long or was started in another tab. Try again.',
  bad_next: 'The single sign-on could not return to the page you wanted. Try again.',
  bad_token: 'The answer of the sign-in service could not be verified. Try again, or sign in with your password.',
  unknown_user: 'Your single sign-on account is not linked to a Roster account. Ask your organisation administrator to link it.',
  blocked: 'This account is blocked. Ask your organisation administrator.',
  unavailable: 'The single sign-on service cannot be reached right now. Try again later, or sign in with your password.',
  server_error: 'Something went wrong on the server. Please try again in a moment.',
  bad_claims: 'Your single sign-on account does not say which state (or school) you belong to, or gives details Roster cannot accept. Ask your state\'s single sign-on administrator.',
  account_conflict: 'A Roster account with your email or phone number already exists. Sign in with it and link your single sign-on account under My account.',
  session_changed: 'You were signed out while linking your single sign-on account. Sign in and try again.',
};

export async function render(main, _session, { app, query }) {
  const loginInput = h('input', { type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: false });
  const pwInput = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const formError = h('div', { class: 'notice error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, t('ui_signin_submit'));
  const form = h('form', { novalidate: true, 'aria-labelledby': 'signin-title' },
    formError,
    field({ label: t('ui_signin_login'), name: 'login', control: loginInput }),
    field({ label: t('ui_signin_password'), name: 'password', control: pwInput }),
    h('div', { class: 'actions' }, submit));
  const sso = h('div', { id: 'sso' });
  clear(main, h('section', { class: 'card narrow' },
    h('h1', { id: 'signin-title' }, t('ui_signin_title')), form, sso,
    h('p', { class: 'hint' }, h('a', { href: '#/forgot', id: 'forgot-link' }, t('ui_signin_forgot'))),
    h('p', { class: 'hint' }, t('ui_signin_new'), h('a', { href: '#/signup', id: 'signup-link' }, t('ui_signin_create')))));

  const ssoError = query && query.get('error');
  if (ssoError) {
    formError.textContent = ssoErrors[ssoError] || ssoErrors.server_error;
    // A reload should not show the message again.
    history.replaceState(null, '', '#/login');
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.textContent = '';
    const body = { login: loginInput.value.trim(), password: pwInput.value };
    const missing = {};
    if (!body.login) missing.login = [t('ui_signin_enter_login')];
    if (!body.password) missing.password = [t('ui_signin_enter_password')];
    if (Object.keys(missing).length) { showFieldErrors(form, missing); return; }
    submit.disabled = true;
    submit.textContent = t('ui_signin_busy');
    try {
      await api.post('auth/login', body, { quiet401: true });
      await app.signedIn();
    } catch (err) {
      submit.disabled = false;
      submit.textContent = t('ui_signin_submit');
      if (err.status === 401) {
        // The server does not say which of the two was wrong, on purpose.
        formError.textContent = t('ui_signin_mismatch');
        pwInput.focus();
        return;
      }
      const rest = showFieldErrors(form, err.fields);
      if (!Object.keys(err.fields || {}).length || rest.length) formError.textContent = [err.message, ...rest].join(' ');
    }
  });

  // The single sign-on button appears only when the server offers browser
  // sign-in with its identity provider (loginUrl). The server runs the
  // redirects and sets the same session cookie on the way back.
  api.get('auth/config', { quiet401: true }).then((cfg) => {
    const o = cfg && cfg.oidc;
    if (!o || !o.loginUrl) return;
    const href = `${o.loginUrl}?${new URLSearchParams({ next: app.returnPath() })}`;
    clear(sso, h('p', { class: 'oidc-sep' }, t('ui_signin_or')),
      h('a', { class: 'button secondary', href, id: 'oidc-login' }, t('ui_signin_with', { Name: o.name || t('ui_signin_sso') })));
  }).catch(() => {}).finally(() => { sso.dataset.checked = 'true'; });
  loginInput.focus();
  return null;
}

