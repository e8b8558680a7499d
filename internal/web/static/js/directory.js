// Directory (org admins): the users of an organisation they run, a page at
// a time, searched by name and narrowed by role, status, school and
// association type, and exported as CSV. The search stays in memory, not
// in the URL, like the lookup's: names do not belong in browser history.
import * as api from './api.js';
import { h, clear, field, showFieldErrors, clearFieldErrors, notice, badge, fmtDate, table, announce } from './ui.js';

const ROLES = ['PUBLIC', 'ORG_ADMIN', 'CONTENT_CREATOR', 'CONTENT_REVIEWER', 'COURSE_MENTOR', 'BOOK_CREATOR',
  'BOOK_REVIEWER', 'FLAG_REVIEWER', 'TEACHER_BADGE_ISSUER', 'BADGE_ISSUER', 'ANNOUNCEMENT_SENDER'];
const STATUSES = [['', 'Active and blocked'], ['active', 'Active'], ['blocked', 'Blocked'], ['deleted', 'Deleted']];
const ASSOCIATIONS = [['', 'Any'], ['sso', 'Single sign-on'], ['self-declared', 'Self-declared'], ['system-upload', 'CSV upload']];
// A pending declarer is not yet a member: the filter lists them instead
// of the members, for the admin who will review them.
const DECLARATIONS = [['', 'Members'], ['pending', 'Pending declaration']];
const PAGE = 25;

// last keeps the filters while the admin opens a profile and comes back.
const last = { org: '', q: '', role: '', status: '', school: '', association: '', declaration: '' };

function select(options, value) {
  const s = h('select', null, options.map(([v, label]) => h('option', { value: v }, label)));
  s.value = value;
  return s;
}

function state(u) {
  if (u.deletedDate) return 'DELETED';
  if (u.status === 0 || u.isDeleted) return 'BLOCKED';
  return 'ACTIVE';
}

// adminOrgs lists the organisations the signed-in user administers, with
// names, tenants first.
async function adminOrgs(session) {
  const grants = session.roleOrgs('ORG_ADMIN');
  const names = {};
  const schools = {};
  for (const tenant of new Set(grants.map((g) => g.rootOrgId))) {
    try {
      const r = await api.get(api.apiURL('organisations', { rootOrgId: tenant }));
      for (const o of r.organisations || []) {
        names[o.id] = o.name;
        if (o.id !== tenant) (schools[tenant] ||= []).push(o);
      }
    } catch { /* ids still identify the organisations */ }
  }
  const orgs = grants.map((g) => ({ id: g.orgId, tenant: g.rootOrgId, isTenant: g.orgId === g.rootOrgId, name: names[g.orgId] || g.orgId }));
  orgs.sort((a, b) => (b.isTenant - a.isTenant) || a.name.localeCompare(b.name));
  return { orgs, schools, names };
}

export async function render(main, session) {
  const { orgs, schools, names } = await adminOrgs(session);
  if (!orgs.some((o) => o.id === last.org)) last.org = orgs.length ? orgs[0].id : '';

  const orgSel = select(orgs.map((o) => [o.id, o.isTenant ? `${o.name} (whole state)` : o.name]), last.org);
  const q = h('input', { type: 'search', autocomplete: 'off', spellcheck: false, value: last.q, maxlength: 64 });
  const role = select([['', 'Any role'], ...ROLES.map((r) => [r, r])], last.role);
  const status = select(STATUSES, last.status);
  const assoc = select(ASSOCIATIONS, last.association);
  const decl = select(DECLARATIONS, last.declaration);
  const school = h('select');
  const schoolField = field({ label: 'School', name: 'school', control: school, cls: 'shrink' });
  const fillSchools = () => {
    const org = orgs.find((o) => o.id === orgSel.value);
    const list = org && org.isTenant ? (schools[org.tenant] || []) : [];
    clear(school, h('option', { value: '' }, 'Any school'), list.map((o) => h('option', { value: o.id }, o.name)));
    school.value = list.some((o) => o.id === last.school) ? last.school : '';
    schoolField.hidden = !list.length;
  };
  fillSchools();

  const formError = h('div', { class: 'notice error', role: 'alert' });
  const form = h('form', { novalidate: true, role: 'search', 'aria-label': 'Search users' },
    formError,
    h('div', { class: 'inline' },
      field({ label: 'Organisation', name: 'org', control: orgSel, cls: 'shrink' }),
      field({ label: 'Name', name: 'q', control: q, hint: 'The start of a first or last name, for example "asha" or "asha dev"' })),
    h('div', { class: 'inline' },
      field({ label: 'Role', name: 'role', control: role, cls: 'shrink' }),
      field({ label: 'Status', name: 'status', control: status, cls: 'shrink' }),
      schoolField,
      field({ label: 'Joined by', name: 'association', control: assoc, cls: 'shrink' }),
      field({ label: 'Declaration', name: 'declaration', control: decl, cls: 'shrink' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Search')));

  const results = h('div', { 'data-testid': 'directory-results' });
  const pager = h('div', { class: 'actions' });
  const exportMsg = h('div', { role: 'status' });
  const exportBox = h('div', { class: 'actions' });

  clear(main, h('h1', null, 'User directory'),
    h('p', null, h('a', { href: '#/users' }, 'Find one user by email, phone, username or external ID')),
    h('section', { class: 'card' }, form),
    h('section', { 'aria-label': 'Results' }, results, pager),
    h('section', { class: 'card', 'aria-labelledby': 'export-h' }, h('h2', { id: 'export-h' }, 'Export this list'),
      h('p', { class: 'muted' }, 'Every user of the list, not only this page, as a CSV file for a spreadsheet. ' +
        'Emails and phone numbers are masked unless you ask for full contact details; that export is recorded in the audit log.'),
      exportMsg, exportBox));

  const params = () => ({ q: last.q, role: last.role, status: last.status, school: last.school, association: last.association,
    declaration: last.declaration });
  let first = true;

  const load = async (cursor, pageNo) => {
    clearFieldErrors(form);
    formError.textContent = '';
    let page;
    try {
      page = await api.get(api.apiURL(`organisations/${encodeURIComponent(last.org)}/users`, { ...params(), cursor, limit: PAGE }));
    } catch (err) {
      const rest = showFieldErrors(form, err.fields);
      if (rest.length || !Object.keys(err.fields).length) formError.textContent = [err.message, ...rest].join(' ');
      clear(results); clear(pager);
      return;
    }
    const rows = page.users.map((u) => h('tr', { 'data-user': u.id },
      h('td', null, h('a', { href: `#/users/${u.id}` }, [u.firstName, u.lastName].filter(Boolean).join(' ') || u.userName)),
      h('td', null, u.userName || '—'),
      h('td', null, u.maskedEmail || '—'),
      h('td', null, u.maskedPhone || '—'),
      h('td', null, badge(state(u))),
      h('td', null, [...new Set((u.organisations || []).flatMap((m) => m.roles || []))].join(', ') || '—'),
      h('td', null, (u.organisations || []).map((m) => names[m.organisationId] || m.organisationId).join(', ') || '—'),
      h('td', null, fmtDate(u.createdDate))));
    clear(results, table({
      caption: `Page ${pageNo}: ${rows.length} user${rows.length === 1 ? '' : 's'}`, stack: true,
      columns: [{ label: 'Name' }, { label: 'Username' }, { label: 'Email' }, { label: 'Phone' }, { label: 'Status' },
        { label: 'Roles' }, { label: 'Organisations' }, { label: 'Registered' }],
      rows, empty: 'No user matches this search.',
    }));
    clear(pager);
    if (pageNo > 1) pager.append(h('button', { type: 'button', class: 'secondary', onclick: () => load('', 1) }, 'First page'));
    if (page.next) pager.append(h('button', { type: 'button', onclick: () => load(page.next, pageNo + 1) }, 'Next page'));
    if (!first) announce(`${rows.length} users on page ${pageNo}`);
    first = false;
  };

  const exportLink = (contacts, label) => h('a', {
    class: 'button secondary', download: '', 'data-contacts': contacts,
    href: api.apiURL(`organisations/${encodeURIComponent(last.org)}/users/export.csv`, { ...params(), contacts }),
  }, label);
  const paintExport = () => {
    const full = h('button', { type: 'button', class: 'secondary' }, 'Export with full contacts…');
    full.addEventListener('click', () => {
      const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
      no.addEventListener('click', paintExport);
      const yes = exportLink('full', 'Yes, export full contacts');
      yes.addEventListener('click', () => clear(exportMsg, notice('ok', 'The export with full contacts was recorded in the audit log.')));
      clear(exportBox, h('p', { id: 'export-q' }, 'The file will hold emails and phone numbers in clear. Keep it safe and delete it when done.'), yes, no);
      no.focus();
    });
    clear(exportBox, exportLink('masked', 'Export CSV (masked)'), full);
  };

  orgSel.addEventListener('change', () => { last.org = orgSel.value; last.school = ''; fillSchools(); });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    Object.assign(last, { org: orgSel.value, q: q.value.trim(), role: role.value, status: status.value, school: school.value, association: assoc.value,
      declaration: decl.value });
    clear(exportMsg);
    paintExport();
    load('', 1);
  });
  if (!orgs.length) { clear(results, notice('info', 'You do not administer an organisation.')); return; }
  paintExport();
  await load('', 1);
  q.focus();
}
