// The editable parts of a user's profile: the edit form, the roles of each
// current membership, the move to another school and the history of the
// user's organisations. Every save sends the ETag the page was loaded
// with as If-Match, so an edit made while someone else changed the user
// is refused (412) rather than silently undoing their change. The server's
// rule book checks every value; its messages are shown next to the field
// they name.
import * as api from './api.js';
import { h, clear, field, showFieldErrors, clearFieldErrors, notice, fmtDate, table, announce } from './ui.js';

// Seed 002's roles, in its order.
const ROLES = ['CONTENT_CREATOR', 'CONTENT_REVIEWER', 'FLAG_REVIEWER', 'COURSE_MENTOR', 'BOOK_CREATOR',
  'BOOK_REVIEWER', 'ORG_ADMIN', 'TEACHER_BADGE_ISSUER', 'BADGE_ISSUER', 'ANNOUNCEMENT_SENDER', 'PUBLIC'];

const list = (s) => String(s || '').split(',').map((x) => x.trim()).filter(Boolean);
const same = (a, b) => JSON.stringify(a || []) === JSON.stringify(b || []);
const roleWord = (r) => r.toLowerCase().replaceAll('_', ' ');

// staleNotice says what happened and offers the one way forward.
function staleNotice(err, reload) {
  const btn = h('button', { type: 'button', class: 'secondary' }, 'Reload');
  btn.addEventListener('click', () => reload());
  return notice('error', h('p', { 'data-testid': 'stale' }, err.message), btn);
}

// failure shows an API error on form: field messages beside their fields,
// the rest above the form.
function failure(form, formError, err, reload) {
  if (err.status === 412) { clear(formError, staleNotice(err, reload)); formError.querySelector('button').focus(); return; }
  const rest = showFieldErrors(form, err.fields);
  if (rest.length || !Object.keys(err.fields).length) clear(formError, notice('error', [err.message, ...rest].join(' ')));
}

function locationCode(u, type) {
  const l = (u.profileLocation || []).find((x) => x.type === type);
  return l ? l.code : '';
}

// editForm is the form of the user's own fields. Only what was changed is
// sent, so an old value the rules now refuse does not block another edit.
export function editForm({ u, etag, reload }) {
  const fw = u.framework || {};
  const text = (v, type = 'text') => h('input', { type, value: v || '', autocomplete: 'off' });
  const c = {
    firstName: text(u.firstName), lastName: text(u.lastName),
    email: h('input', { type: 'email', autocomplete: 'off', placeholder: u.maskedEmail || '' }),
    phone: h('input', { type: 'text', inputmode: 'tel', autocomplete: 'off', placeholder: u.maskedPhone || '' }),
    dob: text(u.dob), gender: h('select', null, ['', 'Male', 'Female', 'Transgender'].map((g) => h('option', { value: g }, g || 'Not given'))),
    language: text((u.language || []).join(', ')), position: text(u.position),
    grade: text((fw.gradeLevel || []).join(', ')), subject: text((fw.subject || []).join(', ')),
    state: text(locationCode(u, 'state')), district: text(locationCode(u, 'district')),
  };
  c.gender.value = u.gender || '';
  const formError = h('div', { role: 'alert' });
  const form = h('form', { novalidate: true, 'aria-label': 'Edit user', 'data-testid': 'edit-form' },
    h('h2', null, 'Edit details'),
    formError,
    h('div', { class: 'inline rows' },
      field({ label: 'First name', name: 'firstName', control: c.firstName }),
      field({ label: 'Last name', name: 'lastName', control: c.lastName })),
    h('div', { class: 'inline rows' },
      field({ label: 'New email', name: 'email', control: c.email, hint: 'Leave empty to keep the current one. A new email must be verified again.' }),
      field({ label: 'New phone', name: 'phone', control: c.phone, hint: 'Leave empty to keep the current one. 10-digit mobile number, or +country code and number.' })),
    h('div', { class: 'inline rows' },
      field({ label: 'Date of birth', name: 'DOB', control: c.dob, hint: 'YYYY-MM-DD' }),
      field({ label: 'Gender', name: 'gender', control: c.gender, cls: 'shrink' }),
      field({ label: 'Position', name: 'position', control: c.position })),
    field({ label: 'Languages', name: 'language', control: c.language, hint: 'Separated by commas, for example Tamil, English' }),
    h('div', { class: 'inline rows' },
      field({ label: 'Grades', name: 'grade', control: c.grade, hint: 'Separated by commas, for example Class 5, Class 6' }),
      field({ label: 'Subjects', name: 'subject', control: c.subject, hint: 'Separated by commas, for example Mathematics, Science' })),
    h('div', { class: 'inline rows' },
      field({ label: 'State code', name: 'profileLocation', control: c.state, hint: 'The code in the location list, for example 33' }),
      field({ label: 'District code', name: 'district', control: c.district, hint: 'Leave empty when not known' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save changes')));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    clear(formError);
    const patch = {};
    for (const k of ['firstName', 'lastName', 'dob', 'gender', 'position']) {
      if (c[k].value.trim() !== (u[k] || '')) patch[k] = c[k].value.trim();
    }
    for (const k of ['email', 'phone']) if (c[k].value.trim()) patch[k] = c[k].value.trim();
    if (!same(list(c.language.value), u.language)) patch.language = list(c.language.value);
    const grades = list(c.grade.value);
    const subjects = list(c.subject.value);
    if (!same(grades, fw.gradeLevel) || !same(subjects, fw.subject)) {
      // Other framework keys (board, medium) stay as they are.
      const next = { ...fw, gradeLevel: grades, subject: subjects };
      if (!grades.length) delete next.gradeLevel;
      if (!subjects.length) delete next.subject;
      patch.framework = next;
    }
    const state = c.state.value.trim();
    const district = c.district.value.trim();
    if (state !== locationCode(u, 'state') || district !== locationCode(u, 'district')) {
      const rest = (u.profileLocation || []).filter((l) => l.type !== 'state' && l.type !== 'district');
      patch.profileLocation = [state && { code: state, type: 'state' }, district && { code: district, type: 'district' }, ...rest].filter(Boolean);
    }
    if (!Object.keys(patch).length) { clear(formError, notice('info', 'Nothing has changed.')); return; }
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      await api.exchange('PATCH', `users/${encodeURIComponent(u.id)}`, { json: patch, ifMatch: etag });
      announce('Changes saved');
      await reload('Changes saved.');
    } catch (err) {
      btn.disabled = false;
      failure(form, formError, err, reload);
    }
  });
  return h('section', { class: 'card' }, form);
}

function roleBoxes(name, checked) {
  return h('fieldset', { 'data-field': name },
    h('legend', null, 'Roles'),
    h('div', { class: 'radios' }, ROLES.map((r) => h('label', null,
      h('input', { type: 'checkbox', value: r, checked: checked.includes(r) }), roleWord(r)))),
    h('p', { class: 'field-error' }));
}

const checkedRoles = (box) => [...box.querySelectorAll('input:checked')].map((i) => i.value);

// rolesForm edits the roles of every current membership at once.
export function rolesForm({ u, etag, orgNames, reload }) {
  const current = (u.organisations || []).filter((m) => !m.isDeleted);
  if (!current.length) return null;
  const formError = h('div', { role: 'alert' });
  const boxes = current.map((m) => ({ m, box: roleBoxes('roles', m.roles || []) }));
  const form = h('form', { novalidate: true, 'aria-label': 'Edit roles', 'data-testid': 'roles-form' },
    h('h2', null, 'Roles'), formError,
    boxes.map(({ m, box }) => h('div', { class: 'field', 'data-org': m.organisationId },
      h('h3', null, orgNames[m.organisationId] || m.organisationId), box)),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save roles')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    clear(formError);
    const roles = {};
    for (const { m, box } of boxes) {
      const want = checkedRoles(box);
      if (!same([...want].sort(), [...(m.roles || [])].sort())) roles[m.organisationId] = want;
    }
    if (!Object.keys(roles).length) { clear(formError, notice('info', 'Nothing has changed.')); return; }
    try {
      await api.exchange('PATCH', `users/${encodeURIComponent(u.id)}`, { json: { roles }, ifMatch: etag });
      announce('Roles saved');
      await reload('Roles saved.');
    } catch (err) {
      failure(form, formError, err, reload);
    }
  });
  return h('section', { class: 'card' }, form);
}

// transferForm moves the user from one of their organisations to another
// of the tenant in one step.
export function transferForm({ u, etag, orgs, orgNames, reload }) {
  const current = (u.organisations || []).filter((m) => !m.isDeleted);
  const here = new Set(current.map((m) => m.organisationId));
  const targets = orgs.filter((o) => !here.has(o.id) && !o.isTenant);
  if (!current.length || !targets.length) return null;
  const from = h('select', null, current.map((m) => h('option', { value: m.organisationId }, orgNames[m.organisationId] || m.organisationId)));
  const to = h('select', null, targets.map((o) => h('option', { value: o.id }, o.name)));
  const box = roleBoxes('roles', []);
  const formError = h('div', { role: 'alert' });
  const form = h('form', { novalidate: true, 'aria-label': 'Move to another school', 'data-testid': 'transfer-form' },
    h('h2', null, 'Move to another school'),
    h('p', { class: 'muted' }, 'The user leaves the first organisation (it stays in their history) and joins the second with the roles ticked; PUBLIC when none.'),
    formError,
    h('div', { class: 'inline rows' },
      field({ label: 'From', name: 'from', control: from }),
      field({ label: 'To', name: 'to', control: to })),
    box,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Move user')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    clear(formError);
    try {
      await api.exchange('POST', `users/${encodeURIComponent(u.id)}/transfer`,
        { json: { from: from.value, to: to.value, roles: checkedRoles(box) }, ifMatch: etag });
      announce('User moved');
      await reload(`Moved to ${to.selectedOptions[0].textContent}.`);
    } catch (err) {
      failure(form, formError, err, reload);
    }
  });
  return h('section', { class: 'card' }, form);
}

// historyTable lists every organisation the user has belonged to.
export async function historyTable(u) {
  let rows = [];
  try {
    rows = (await api.get(`users/${encodeURIComponent(u.id)}/organisations`)).organisations || [];
  } catch (err) {
    return notice('error', err.message);
  }
  return h('div', { 'data-testid': 'history' }, table({
    caption: 'History of organisations', stack: true,
    columns: [{ label: 'Organisation' }, { label: 'Roles' }, { label: 'Joined' }, { label: 'Left' }],
    rows: rows.map((s) => h('tr', null,
      h('td', null, s.orgName || s.organisationId),
      h('td', null, (s.roles || []).join(', ') || '—'),
      h('td', null, fmtDate(s.orgJoinDate)),
      h('td', null, s.current ? 'Current' : fmtDate(s.orgLeftDate)))),
    empty: 'No organisations yet.',
  }));
}
