// Audit log (tenant admins): who did what to which object and when, newest
// first, a page at a time. Details name fields, never their values.
import * as api from './api.js';
import { h, clear, field, showFieldErrors, clearFieldErrors, table, announce } from './ui.js';

const OBJECTS = [['', 'Anything'], ['user', 'User'], ['organisation', 'Organisation'], ['upload', 'Upload'],
  ['report', 'Report'], ['course', 'Course'], ['batch', 'Batch']];
const PAGE = 50;
const last = { actor: '', action: '', objectType: '', objectId: '', from: '', to: '' };

function fmtTime(v) {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString();
}

// dayStart turns a date input's YYYY-MM-DD into the start of that day, UTC.
const dayStart = (d, plusDays = 0) => {
  if (!d) return '';
  const t = new Date(`${d}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + plusDays);
  return t.toISOString().replace('.000Z', 'Z');
};

export async function render(main, session) {
  const tenants = session.roleOrgs('ORG_ADMIN').filter((g) => g.orgId === g.rootOrgId).map((g) => g.rootOrgId);
  const input = (v, attrs) => h('input', { type: 'text', autocomplete: 'off', spellcheck: false, value: v, maxlength: 64, ...attrs });
  const actor = input(last.actor);
  const action = input(last.action, { placeholder: 'user.update' });
  const objectType = h('select', null, OBJECTS.map(([v, l]) => h('option', { value: v }, l)));
  objectType.value = last.objectType;
  const objectId = input(last.objectId);
  const from = h('input', { type: 'date', value: last.from });
  const to = h('input', { type: 'date', value: last.to });
  const formError = h('div', { class: 'notice error', role: 'alert' });
  const form = h('form', { novalidate: true, role: 'search', 'aria-label': 'Filter the audit log' },
    formError,
    h('div', { class: 'inline' },
      field({ label: 'Action', name: 'action', control: action, hint: 'For example user.create, user.update, user.export' }),
      field({ label: 'Who (user ID)', name: 'actor', control: actor })),
    h('div', { class: 'inline' },
      field({ label: 'Object', name: 'objectType', control: objectType, cls: 'shrink' }),
      field({ label: 'Object ID', name: 'objectId', control: objectId }),
      field({ label: 'From', name: 'from', control: from, cls: 'shrink' }),
      field({ label: 'To (inclusive)', name: 'to', control: to, cls: 'shrink' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show')));
  const results = h('div', { 'data-testid': 'audit-results' });
  const pager = h('div', { class: 'actions' });
  clear(main, h('h1', null, 'Audit log'),
    h('p', { class: 'muted' }, 'Every change in your state, newest first. Details name the fields that changed, never their values.'),
    h('section', { class: 'card' }, form), results, pager);

  let first = true;
  const load = async (cursor, pageNo) => {
    clearFieldErrors(form);
    formError.textContent = '';
    let page;
    try {
      page = await api.get(api.apiURL('audit', {
        tenant: tenants[0], actor: last.actor, action: last.action, objectType: last.objectType, objectId: last.objectId,
        from: dayStart(last.from), to: dayStart(last.to, 1), cursor, limit: PAGE,
      }));
    } catch (err) {
      const rest = showFieldErrors(form, err.fields);
      if (rest.length || !Object.keys(err.fields).length) formError.textContent = [err.message, ...rest].join(' ');
      clear(results); clear(pager);
      return;
    }
    const rows = page.entries.map((e) => h('tr', null,
      h('td', null, fmtTime(e.at)),
      h('td', null, h('code', null, e.actorId || '—')),
      h('td', null, e.action),
      h('td', null, e.objectType ? `${e.objectType} ` : '', e.objectId ? h('code', null, e.objectId) : ''),
      h('td', null, e.outcome),
      h('td', null, e.detail || '—')));
    clear(results, table({
      caption: `Page ${pageNo}`, stack: true,
      columns: [{ label: 'When' }, { label: 'Who' }, { label: 'Action' }, { label: 'Object' }, { label: 'Outcome' }, { label: 'Detail' }],
      rows, empty: 'Nothing in the log matches.',
    }));
    clear(pager);
    if (pageNo > 1) pager.append(h('button', { type: 'button', class: 'secondary', onclick: () => load('', 1) }, 'First page'));
    if (page.next) pager.append(h('button', { type: 'button', onclick: () => load(page.next, pageNo + 1) }, 'Next page'));
    if (!first) announce(`${rows.length} audit entries on page ${pageNo}`);
    first = false;
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    Object.assign(last, { actor: actor.value.trim(), action: action.value.trim(), objectType: objectType.value,
      objectId: objectId.value.trim(), from: from.value, to: to.value });
    load('', 1);
  });
  await load('', 1);
}
