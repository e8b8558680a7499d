// Self-declaration (issue 11.2). A self-signed-up teacher declares their
// state, school and teacher id and follows the decision (#/declaration);
// an admin of a school or of a whole state works through the queue of
// pending declarations, one by one or several at once (#/declarations).
// The server decides who may do what; these pages only show it.
import * as api from './api.js';
import {
  h, clear, field, showFieldErrors, clearFieldErrors, notice, badge, fmtDate, table, announce,
} from './ui.js';

export async function render(main, session, { view, app }) {
  if (view === 'queue') return queuePage(main, session);
  return declarationPage(main, session, app);
}

const STATUS = { pending: 'PENDING', approved: 'APPROVED', rejected: 'REJECTED', withdrawn: 'WITHDRAWN' };

async function mine() {
  try {
    return await api.get('me/declaration');
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

async function declarationPage(main, session, app) {
  const [current, states] = await Promise.all([mine(), api.get('states')]);
  const msg = h('div');
  const statusBox = h('section', { class: 'card', 'aria-labelledby': 'decl-status' });
  const formBox = h('section', { class: 'card', 'aria-labelledby': 'decl-form' });
  clear(main, h('h1', null, 'My school'),
    h('p', { class: 'muted' }, 'Tell your state which school you teach at and your teacher id. ',
      'An administrator of the school or of the state checks it; once approved you are a teacher of the state.'),
    msg, statusBox, formBox);

  paintStatus(statusBox, current, async () => {
    try {
      await api.request('DELETE', 'me/declaration');
      announce('Declaration withdrawn');
      app.go('#/declaration');
    } catch (err) { clear(msg, notice('error', err.message)); }
  });
  if (current && current.status === 'approved') { formBox.remove(); return null; }
  paintForm(formBox, states.organisations || [], current, async () => {
    announce('Declaration sent');
    app.go('#/declaration');
  });
  return null;
}

function paintStatus(box, d, withdraw) {
  if (!d) {
    clear(box, h('h2', { id: 'decl-status' }, 'Status'), h('p', { 'data-testid': 'decl-status' }, 'You have not declared a school yet.'));
    return;
  }
  const rows = [
    h('dt', null, 'Status'), h('dd', { 'data-testid': 'decl-status' }, badge(STATUS[d.status] || d.status)),
    h('dt', null, 'State'), h('dd', null, d.stateName),
    h('dt', null, 'School'), h('dd', null, d.schoolName),
    h('dt', null, 'Teacher id'), h('dd', null, d.teacherId || '—'),
    h('dt', null, 'Sent'), h('dd', null, fmtDate(d.createdDate)),
  ];
  if (d.decidedDate && d.status !== 'withdrawn') rows.push(h('dt', null, 'Decided'), h('dd', null, fmtDate(d.decidedDate)));
  if (d.reason) rows.push(h('dt', null, 'Reason'), h('dd', { 'data-testid': 'decl-reason', class: 'pre' }, d.reason));
  const words = {
    pending: notice('info', 'Waiting for your state to check it. You can replace it below, or withdraw it.'),
    approved: notice('ok', 'Approved: you are now a teacher of this state and school.'),
    rejected: notice('error', 'Your declaration was not approved. Read the reason, then correct it and send it again below.'),
    withdrawn: notice('info', 'You withdrew this declaration. You can send a new one below.'),
  };
  const actions = h('div', { class: 'actions' });
  if (d.status === 'pending') {
    const btn = h('button', { type: 'button', class: 'secondary' }, 'Withdraw declaration');
    btn.addEventListener('click', withdraw);
    actions.append(btn);
  }
  clear(box, h('h2', { id: 'decl-status' }, 'Status'), words[d.status], h('dl', { class: 'profile' }, rows), actions);
}

function paintForm(box, states, current, done) {
  const stateSel = h('select', null, h('option', { value: '' }, 'Choose your state'),
    states.map((s) => h('option', { value: s.id }, s.name)));
  const search = h('input', { type: 'search', autocomplete: 'off', placeholder: 'Part of the school name' });
  const schoolSel = h('select', { size: 6 });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more schools');
  const extID = h('input', { type: 'text', autocomplete: 'off', spellcheck: false });
  const teacherID = h('input', { type: 'text', autocomplete: 'off', spellcheck: false, maxLength: 100 });
  const formError = h('div', { class: 'notice error', role: 'alert', hidden: true });
  const form = h('form', { novalidate: true, 'aria-label': 'Declare your school' },
    formError,
    field({ label: 'State', name: 'stateId', control: stateSel }),
    field({ label: 'Find your school', name: 'q', control: search, hint: 'Type part of the name; the list below shows the state’s schools' }),
    field({ label: 'School', name: 'schoolId', control: schoolSel, hint: 'Pick your school from the list' }),
    h('div', { class: 'actions' }, more),
    field({ label: 'Or the school’s external id', name: 'schoolExternalId', control: extID, hint: 'The code your state gives the school (for example its UDISE code), if it is not in the list' }),
    field({ label: 'Teacher id', name: 'teacherId', control: teacherID, hint: 'The id your state knows you by; at most 100 characters' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, current && current.status === 'pending' ? 'Replace declaration' : 'Send declaration')));
  clear(box, h('h2', { id: 'decl-form' }, current && current.status === 'pending' ? 'Replace your declaration' : 'Declare your school'), form);

  let next = '';
  let timer = null;
  const load = async (append) => {
    if (!stateSel.value) { clear(schoolSel); more.hidden = true; return; }
    const r = await api.get(api.apiURL(`states/${encodeURIComponent(stateSel.value)}/schools`,
      { q: search.value.trim(), cursor: append ? next : '', limit: 50 }));
    // A search answering after the teacher picked a school keeps the pick
    // when the school is still listed.
    const picked = schoolSel.value;
    if (!append) clear(schoolSel);
    for (const s of r.schools || []) schoolSel.append(h('option', { value: s.id }, s.externalId ? `${s.name} (${s.externalId})` : s.name));
    if (picked) schoolSel.value = picked;
    next = r.next || '';
    more.hidden = !next;
  };
  const reload = () => { clearTimeout(timer); timer = setTimeout(() => load(false).catch(showError), 250); };
  const showError = (err) => { formError.hidden = false; formError.textContent = err.message; };
  stateSel.addEventListener('change', () => load(false).catch(showError));
  search.addEventListener('input', reload);
  more.addEventListener('click', () => load(true).catch(showError));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.hidden = true;
    const body = { stateId: stateSel.value, teacherId: teacherID.value };
    if (schoolSel.value) body.schoolId = schoolSel.value;
    else if (extID.value.trim()) body.schoolExternalId = extID.value.trim();
    const missing = {};
    if (!body.stateId) missing.stateId = ['choose your state'];
    if (!body.schoolId && !body.schoolExternalId) missing.schoolId = ['pick your school, or give its external id below'];
    if (!teacherID.value.trim()) missing.teacherId = ['enter your teacher id'];
    if (Object.keys(missing).length) { showFieldErrors(form, missing); return; }
    try {
      await api.post('me/declaration', body);
      await done();
    } catch (err) {
      const rest = showFieldErrors(form, err.fields);
      if (rest.length || !Object.keys(err.fields).length) showError({ message: [err.message, ...rest].join(' ') });
    }
  });
}

// reviewOrgs are the organisations whose queue the user sees: every
// organisation where they hold ORG_ADMIN (a tenant's whole state, or one
// school).
function reviewOrgs(session) {
  return session.roleOrgs('ORG_ADMIN').map((g) => g.orgId);
}

async function queuePage(main, session) {
  const ids = reviewOrgs(session);
  const orgs = await Promise.all(ids.map((id) => api.get(`organisations/${encodeURIComponent(id)}`).catch(() => ({ id, name: id }))));
  const orgSel = h('select', null, orgs.map((o) => h('option', { value: o.id }, o.isTenant ? `${o.name} (whole state)` : o.name)));
  const msg = h('div', { 'data-testid': 'queue-msg' });
  const list = h('div');
  const reason = h('textarea', { rows: 2, maxLength: 500 });
  const approveSel = h('button', { type: 'button' }, 'Approve selected');
  const rejectSel = h('button', { type: 'button', class: 'danger' }, 'Reject selected');
  const bulk = h('form', { novalidate: true, 'aria-label': 'Decide selected declarations' },
    field({ label: 'Reason', name: 'reason', control: reason, hint: 'Shown to the teacher. Required when rejecting; at most 500 characters.' }),
    h('div', { class: 'actions' }, approveSel, rejectSel));
  clear(main, h('h1', null, 'Declarations'),
    h('p', { class: 'muted' }, 'Teachers who signed up themselves and declared one of your schools. Approve to make them teachers of the state and school, or reject with a reason they will see.'),
    field({ label: 'Organisation', name: 'org', control: orgSel, cls: 'shrink' }),
    msg, list, h('section', { class: 'card' }, h('h2', null, 'Decide the selected ones'), bulk));

  let rows = [];
  const load = async () => {
    const r = await api.get(api.apiURL(`organisations/${encodeURIComponent(orgSel.value)}/declarations`, { status: 'pending', limit: 100 }));
    rows = r.declarations || [];
    const all = h('input', { type: 'checkbox', 'aria-label': 'Select all' });
    all.addEventListener('change', () => list.querySelectorAll('input[data-decl]').forEach((c) => { c.checked = all.checked; }));
    const t = table({
      caption: 'Pending declarations', stack: true,
      columns: [{ label: 'Select' }, { label: 'Teacher' }, { label: 'Username' }, { label: 'School' }, { label: 'Teacher id' }, { label: 'Sent' }, { label: 'Decide' }],
      rows: rows.map((d) => {
        const name = [d.firstName, d.lastName].filter(Boolean).join(' ');
        const approve = h('button', { type: 'button', 'data-approve': d.id }, 'Approve');
        const reject = h('button', { type: 'button', class: 'secondary', 'data-reject': d.id }, 'Reject');
        approve.addEventListener('click', () => decide([d.id], true));
        reject.addEventListener('click', () => decide([d.id], false));
        return h('tr', { 'data-declaration': d.id },
          h('td', null, h('input', { type: 'checkbox', 'data-decl': d.id, 'aria-label': `Select ${name}` })),
          h('th', { scope: 'row' }, name), h('td', null, d.userName), h('td', null, d.schoolName),
          h('td', null, h('code', null, d.teacherId)), h('td', null, fmtDate(d.createdDate)),
          h('td', null, h('div', { class: 'inline' }, approve, reject)));
      }),
      empty: 'No declarations are waiting.',
    });
    clear(list, rows.length ? h('p', null, h('label', { class: 'inline-check' }, all, 'Select all')) : null, t);
  };
  const names = (id) => {
    const d = rows.find((x) => x.id === id);
    return d ? [d.firstName, d.lastName].filter(Boolean).join(' ') || d.userName : id;
  };
  const decide = async (ids, approve) => {
    clearFieldErrors(bulk);
    if (!ids.length) { clear(msg, notice('error', 'Select at least one declaration first.')); return; }
    if (!approve && !reason.value.trim()) {
      showFieldErrors(bulk, { reason: ['write the reason the teacher will read, then reject'] });
      return;
    }
    try {
      const r = await api.post(`organisations/${encodeURIComponent(orgSel.value)}/declarations/decisions`,
        { decision: approve ? 'approve' : 'reject', reason: reason.value, ids });
      const ok = r.results.filter((x) => !x.error);
      const bad = r.results.filter((x) => x.error);
      const parts = [];
      if (ok.length) parts.push(notice('ok', `${approve ? 'Approved' : 'Rejected'}: ${ok.map((x) => names(x.id)).join(', ')}.`));
      if (bad.length) {
        parts.push(notice('error', 'Not decided: ', h('ul', null, bad.map((x) => h('li', null,
          `${names(x.id)} — ${(x.error.fields && x.error.fields.length ? x.error.fields.map((f) => f.message) : [x.error.message]).join('; ')}`)))));
      }
      clear(msg, parts);
      announce(`${ok.length} decided, ${bad.length} not decided`);
      if (ok.length) reason.value = '';
      await load();
    } catch (err) {
      const rest = showFieldErrors(bulk, err.fields);
      clear(msg, notice('error', [err.message, ...rest].join(' ')));
    }
  };
  const selected = () => [...list.querySelectorAll('input[data-decl]:checked')].map((c) => c.dataset.decl);
  approveSel.addEventListener('click', () => decide(selected(), true));
  rejectSel.addEventListener('click', () => decide(selected(), false));
  orgSel.addEventListener('change', () => { clear(msg); load().catch((err) => clear(msg, notice('error', err.message))); });
  if (!orgs.length) { clear(list, notice('info', 'You administer no organisation.')); return null; }
  await load();
  return null;
}
