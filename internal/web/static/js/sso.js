// Single sign-on links of one user: which identity provider account signs
// in as them. A tenant admin links a subject they were given; the user
// links their own account by signing in at the provider (the server binds
// that to their session), and either may unlink. Subjects are shown masked:
// they identify a person at the provider.
import * as api from './api.js';
import { h, clear, field, showFieldErrors, clearFieldErrors, notice, announce } from './ui.js';

// Why a link came back to the page (ssoError=<code> from the callback).
export const linkErrors = {
  linked_elsewhere: 'That single sign-on account is already linked to another Roster account. Sign in with it to see which, or ask your administrator.',
  server_error: 'Linking did not complete. Please try again in a moment.',
};

let config = null;
async function oidcConfig() {
  if (!config) config = api.get('auth/config', { quiet401: true }).then((c) => (c && c.oidc) || {}).catch(() => ({}));
  return config;
}

function masked(s) {
  s = String(s || '');
  if (s.length <= 6) return '*'.repeat(s.length);
  return s.slice(0, 3) + '*'.repeat(Math.min(s.length - 6, 8)) + s.slice(-3);
}

// section renders the links of u. self: the page is the user's own;
// admin: the viewer may link for them (a tenant admin; the server decides).
export async function section(u, { self, admin, reload, query }) {
  const o = await oidcConfig();
  const box = h('section', { class: 'card', id: 'sso-links', 'aria-labelledby': 'sso-title' });
  if (!o.enabled) { box.hidden = true; return box; }
  const msg = h('div', { role: 'status' });
  // The registry keeps provider and idType in lower case.
  const same = (a, b) => String(a || '').toLowerCase() === String(b || '').toLowerCase();
  const links = (u.externalIds || []).filter((x) => same(x.provider, o.provider) && same(x.idType, o.idType));
  const list = links.length
    ? h('ul', { class: 'plain' }, links.map((x) => h('li', null,
      h('span', { 'data-testid': 'sso-subject' }, x.externalId ? masked(x.externalId) : 'linked'), ' ',
      h('span', { class: 'muted' }, `since ${new Date(x.createdOn).toLocaleDateString()}`))))
    : h('p', { class: 'muted' }, 'No single sign-on account is linked.');
  const actions = h('div', { class: 'actions' });
  const ssoError = query && query.get('ssoError');
  if (ssoError) clear(msg, notice('error', linkErrors[ssoError] || linkErrors.server_error));

  if (links.length) {
    const unlink = h('button', { type: 'button', class: 'secondary', id: 'sso-unlink' }, 'Unlink single sign-on');
    unlink.addEventListener('click', async () => {
      unlink.disabled = true;
      try {
        await api.request('DELETE', `users/${encodeURIComponent(u.id)}/sso-links`);
        announce('Single sign-on unlinked');
        reload('The single sign-on account is unlinked.');
      } catch (err) {
        clear(msg, notice('error', err.message));
        unlink.disabled = false;
      }
    });
    actions.append(unlink);
  }
  if (self && o.linkUrl && !links.length) {
    const link = h('button', { type: 'button', id: 'sso-link-own' }, `Link my ${o.name || 'single sign-on'} account`);
    link.addEventListener('click', async () => {
      link.disabled = true;
      try {
        const r = await api.post(o.linkUrl, { next: `/${location.hash}`.replace(/\?.*$/, '') });
        location.href = r.url;
      } catch (err) {
        clear(msg, notice('error', err.message));
        link.disabled = false;
      }
    });
    actions.append(link);
  }
  const parts = [h('h2', { id: 'sso-title' }, 'Single sign-on'), msg, list, actions];
  if (admin && !self) parts.push(adminForm(u, reload));
  clear(box, ...parts);
  return box;
}

function adminForm(u, reload) {
  const subject = h('input', { type: 'text', autocomplete: 'off', spellcheck: false, maxlength: 100 });
  const formError = h('div', { class: 'notice error', role: 'alert' });
  const form = h('form', { novalidate: true, id: 'sso-link-form', 'aria-label': 'Link a single sign-on account' },
    formError,
    field({ label: 'Subject at the identity provider', name: 'subject', control: subject,
      hint: 'The account id the provider issues (the token\'s "sub"), e.g. a Keycloak user id' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Link account')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.textContent = '';
    const value = subject.value.trim();
    if (!value) { showFieldErrors(form, { subject: ['enter the subject to link'] }); return; }
    try {
      await api.post(`users/${encodeURIComponent(u.id)}/sso-links`, { subject: value });
      announce('Single sign-on linked');
      reload('The single sign-on account is linked.');
    } catch (err) {
      const rest = showFieldErrors(form, err.fields);
      if (rest.length || !Object.keys(err.fields).length) formError.textContent = [err.message, ...rest].join(' ');
    }
  });
  return form;
}
