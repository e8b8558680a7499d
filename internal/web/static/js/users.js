// Users (org admins): find one user by a unique attribute, see their
// profile with contact details masked, and block or unblock them. Searches
// go in a POST body, so an email or phone typed here never ends up in a URL,
// the browser history or a server log.
import * as api from './api.js';
import { t } from './i18n.js';
import { h, clear, field, showFieldErrors, clearFieldErrors, notice, badge, fmtDate, table, announce } from './ui.js';
import { editForm, rolesForm, transferForm, historyTable } from './useredit.js';
import { eraseSection } from './erase.js';
import * as sso from './sso.js';

const kinds = [
  { value: 'email', label: 'Email', hint: 'For example asha@example.org', auto: 'email' },
  { value: 'phone', label: 'Phone', hint: '10-digit mobile number, or +country code and number', auto: 'tel' },
  { value: 'username', label: 'Username', hint: 'The userName given at registration', auto: 'off' },
  { value: 'externalid', label: 'External ID', hint: 'The id the user has in your state or school system', auto: 'off' },
];

// The last search stays in memory (not in the URL) so "Back to search"
// shows what was typed.
const last = { type: 'email', value: '', provider: '', idType: '' };

export async function render(main, session, { id, app, query }) {
  if (id) return profile(main, session, id, app, query);
  return search(main, session, app);
}

function search(main, session, app) {
  const typeSel = h('select', null, kinds.map((k) => h('option', { value: k.value }, k.label)));
  typeSel.value = last.type;
  const value = h('input', { type: 'search', autocomplete: 'off', spellcheck: false, value: last.value });
  const provider = h('input', { type: 'text', autocomplete: 'off', value: last.provider });
  const idType = h('input', { type: 'text', autocomplete: 'off', value: last.idType });
  const extra = h('div', { class: 'inline' },
    field({ label: 'Provider', name: 'provider', control: provider, hint: 'The channel of the system that issued the id' }),
    field({ label: 'ID type', name: 'idType', control: idType, hint: 'For example teacherId' }));
  const valueField = field({ label: 'Email', name: 'value', control: value });
  const formError = h('div', { class: 'notice error', role: 'alert' });
  const form = h('form', { novalidate: true, role: 'search', 'aria-label': 'Find a user' },
    formError,
    h('div', { class: 'inline' },
      field({ label: 'Search by', name: 'type', control: typeSel, cls: 'shrink' }),
      valueField),
    extra,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Find user')));

  const sync = () => {
    const k = kinds.find((x) => x.value === typeSel.value);
    valueField.querySelector('label').textContent = k.label;
    let hint = valueField.querySelector('.hint');
    if (!hint) {
      hint = h('p', { class: 'hint', id: `${value.id}-hint` });
      valueField.querySelector('label').after(hint);
      value.setAttribute('aria-describedby', `${hint.id} ${value.id}-error`);
    }
    hint.textContent = k.hint;
    value.autocomplete = k.auto;
    extra.hidden = k.value !== 'externalid';
  };
  typeSel.addEventListener('change', sync);
  sync();

  clear(main, h('h1', null, t('ui_users_title')),
    h('section', { class: 'card' }, h('p', { class: 'muted' },
      t('ui_users_intro')), form));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.textContent = '';
    Object.assign(last, { type: typeSel.value, value: value.value.trim(), provider: provider.value.trim(), idType: idType.value.trim() });
    const missing = {};
    if (!last.value) missing.value = [`enter the ${kinds.find((k) => k.value === last.type).label.toLowerCase()} to search for`];
    if (last.type === 'externalid') {
      if (!last.provider) missing.provider = ['enter the provider of the external id'];
      if (!last.idType) missing.idType = ['enter the type of the external id'];
    }
    if (Object.keys(missing).length) { showFieldErrors(form, missing); return; }
    const body = { type: last.type, value: last.value };
    if (last.type === 'externalid') Object.assign(body, { provider: last.provider, idType: last.idType });
    try {
      const u = await api.post('users/lookup', body);
      app.go(`#/users/${u.id}`);
    } catch (err) {
      if (err.status === 404) {
        showFieldErrors(form, { value: ['no user of your organisation has this ' + kinds.find((k) => k.value === last.type).label.toLowerCase()] });
        return;
      }
      const rest = showFieldErrors(form, err.fields);
      if (rest.length || !Object.keys(err.fields).length) formError.textContent = [err.message, ...rest].join(' ');
    }
  });
  value.focus();
}

function userState(u) {
  if (u.erasedDate) return 'ERASED';
  if (u.deletedDate) return 'DELETED';
  if (u.status === 0 || u.isDeleted) return 'BLOCKED';
  return 'ACTIVE';
}

// maskID keeps the first and last two characters of an external id, the
// same idea as the server's email and phone masks.
function maskID(s) {
  s = String(s || '');
  if (s.length <= 4) return '*'.repeat(s.length);
  return s.slice(0, 2) + '*'.repeat(Math.min(s.length - 4, 8)) + s.slice(-2);
}

async function profile(main, session, id, app, query, flash) {
  // The ETag is the version of the user this page shows; every save
  // sends it back so a change made meanwhile by someone else is not lost.
  const { body: u, etag } = await api.exchange('GET', `users/${encodeURIComponent(id)}`);
  const links = await sso.section(u, {
    self: u.id === session.userID,
    admin: session.grants.some((g) => g.orgId === u.rootOrgId && (g.roles || []).includes('ORG_ADMIN')),
    reload: (note) => profile(main, session, id, app, null, note),
    query,
  });
  let orgNames = {};
  let orgs = [];
  try {
    const r = await api.get(api.apiURL('organisations', { rootOrgId: u.rootOrgId }));
    orgs = r.organisations || [];
    orgNames = Object.fromEntries(orgs.map((o) => [o.id, o.name]));
  } catch { /* names are a nicety; ids still identify the organisations */ }
  const reload = async (said) => {
    await profile(main, session, id, app, null, said);
    if (said) main.querySelector('[role=status] .notice')?.scrollIntoView({ block: 'nearest' });
  };

  const state = userState(u);
  const name = [u.firstName, u.lastName].filter(Boolean).join(' ');
  const msg = h('div', { role: 'status' }, flash ? notice('ok', flash) : null);
  const actions = h('div', { class: 'actions' });

  const memberships = (u.organisations || []).filter((m) => !m.isDeleted);
  const orgTable = table({
    caption: 'Organisations and roles', stack: true,
    columns: [{ label: 'Organisation' }, { label: 'Roles' }, { label: 'Joined' }],
    rows: memberships.map((m) => h('tr', null,
      h('td', null, orgNames[m.organisationId] || m.organisationId),
      h('td', null, (m.roles || []).join(', ') || '—'),
      h('td', null, fmtDate(m.orgJoinDate)))),
    empty: 'Not a member of any organisation.',
  });

  const ext = (u.externalIds || []).map((x) => `${maskID(x.externalId)} (${x.idType}, ${x.provider})`);
  clear(main,
    h('p', null, h('a', { href: '#/users' }, '← Back to search')),
    h('h1', null, name || u.userName || 'Erased user'),
    msg,
    h('section', { class: 'card' },
      h('dl', { class: 'profile' },
        h('dt', null, 'Status'), h('dd', null, badge(state)),
        h('dt', null, 'Username'), h('dd', null, u.userName || '—'),
        h('dt', null, 'Email'), h('dd', { 'data-testid': 'masked-email' }, u.maskedEmail || '—'),
        h('dt', null, 'Phone'), h('dd', { 'data-testid': 'masked-phone' }, u.maskedPhone || '—'),
        h('dt', null, 'External IDs'), h('dd', null, ext.length ? ext.join('; ') : '—'),
        h('dt', null, 'Registered'), h('dd', null, fmtDate(u.createdDate)),
        h('dt', null, 'User ID'), h('dd', null, h('code', null, u.id))),
      actions),
    orgTable,
    links);
  if (state !== 'DELETED') {
    main.append(...[editForm({ u, etag, reload }), rolesForm({ u, etag, orgNames, reload }),
      transferForm({ u, etag, orgs, orgNames, reload })].filter(Boolean));
  }
  main.append(h('h2', null, t('ui_users_history')), await historyTable(u));
  const erase = eraseSection(u, () => app.go(`#/users/${u.id}`));
  if (erase) main.append(erase);

  const setButtons = (current) => {
    if (current === 'DELETED' || current === 'ERASED') { clear(actions); return; }
    const blocking = current === 'ACTIVE';
    const btn = h('button', { type: 'button', class: blocking ? 'danger' : '' }, blocking ? 'Block user' : 'Unblock user');
    btn.addEventListener('click', () => confirmStep(blocking));
    clear(actions, btn);
  };
  // A second, explicit click guards against blocking someone by accident;
  // it is inline rather than a pop-up so it works the same with a keyboard.
  const confirmStep = (blocking) => {
    const yes = h('button', { type: 'button', class: blocking ? 'danger' : '' }, blocking ? 'Yes, block' : 'Yes, unblock');
    const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const q = h('p', { id: 'confirm-q' }, blocking
      ? `Block ${name || u.userName}? They will not be able to sign in until unblocked.`
      : `Unblock ${name || u.userName}? They will be able to sign in again.`);
    clear(actions, q, yes, no);
    no.addEventListener('click', () => setButtons(blocking ? 'ACTIVE' : 'BLOCKED'));
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api.post(`users/${encodeURIComponent(u.id)}/${blocking ? 'block' : 'unblock'}`);
        const now = blocking ? 'BLOCKED' : 'ACTIVE';
        main.querySelector('dl.profile dd .badge').replaceWith(badge(now));
        clear(msg, notice('ok', blocking ? 'The user is blocked.' : 'The user is unblocked.'));
        announce(blocking ? 'User blocked' : 'User unblocked');
        setButtons(now);
        actions.querySelector('button').focus();
      } catch (err) {
        clear(msg, notice('error', err.message));
        setButtons(blocking ? 'ACTIVE' : 'BLOCKED');
      }
    });
    no.focus();
  };
  setButtons(state);
}
