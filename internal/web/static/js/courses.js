// Course dashboard: a creator's or mentor's courses, each course's batches
// with enrolment and consent counts, the User Profile Exhaust request (the
// course creator only, as the seed says) and the list of requested reports
// with their download links.
import * as api from './api.js';
import { t } from './i18n.js';
import {
  h, clear, field, showFieldErrors, clearFieldErrors, notice, badge, fmtDate, fmtNum, table, announce, nextID,
} from './ui.js';

const POLL_MS = 1500;

export async function render(main, session, { id, view, app }) {
  if (view === 'downloads') return downloadsPage(main, session);
  if (id) return coursePage(main, session, id, app);
  return listPage(main, session);
}

async function listPage(main, session) {
  const r = await api.get('courses');
  const courses = r.courses || [];
  const items = courses.map((c) => h('li', null,
    h('a', { class: 'course-title', href: `#/courses/${encodeURIComponent(c.id)}` }, c.name),
    h('div', { class: 'muted small' }, c.createdBy === session.userID ? 'You created this course' : 'You mentor a batch of this course',
      ' · ', h('code', null, c.id))));
  clear(main, h('h1', null, t('ui_courses_title')),
    h('section', { class: 'card' }, courses.length ? h('ul', { class: 'list' }, items)
      : h('p', { class: 'muted' }, t('ui_courses_none'))));
}

// The server's rules (report.ValidatePassword), shown before typing and
// ticked off while typing. Only printable ASCII, because 7-Zip on Windows
// turns a typed password into the local code page.
const PW_RULES = [
  { test: (p) => p.length >= 8 && p.length <= 99, text: '8 to 99 characters', need: '8 to 99 characters' },
  { test: (p) => /[A-Za-z]/.test(p), text: 'At least one letter (A–Z)', need: 'a letter' },
  { test: (p) => /[0-9]/.test(p), text: 'At least one digit (0–9)', need: 'a digit' },
  { test: (p) => p !== '' && /^[\x20-\x7e]*$/.test(p), text: 'Only English letters, digits, spaces and keyboard symbols, so 7-Zip on any computer can open the file', need: 'only English letters, digits, spaces and keyboard symbols' },
];

async function coursePage(main, session, id, app) {
  const [course, br] = await Promise.all([
    api.get(`courses/${encodeURIComponent(id)}`),
    api.get(`courses/${encodeURIComponent(id)}/batches`),
  ]);
  const batches = br.batches || [];
  // The server's rule (report.authorizeCreator): the course's creator, as
  // long as they still hold CONTENT_CREATOR in the course's tenant.
  const isCreator = course.createdBy === session.userID;
  const canReport = isCreator && session.hasRoleInTenant(course.rootOrgId, 'CONTENT_CREATOR');

  const batchTable = table({
    caption: 'Batches', hideCaption: true, stack: true,
    columns: [{ label: 'Batch' }, { label: 'Status' }, { label: 'Starts' }, { label: 'Ends' },
      { label: 'Enrolled', num: true }, { label: 'Consented to share', num: true }],
    rows: batches.map((b) => h('tr', { 'data-batch': b.id },
      h('th', { scope: 'row' }, b.name),
      h('td', null, badge(b.status === 'in progress' ? 'IN_PROGRESS' : b.status)),
      h('td', null, day(b.startDate)),
      h('td', null, day(b.endDate)),
      h('td', { class: 'num', 'data-count': 'enrolled' }, fmtNum(b.enrolled)),
      h('td', { class: 'num', 'data-count': 'consented' }, fmtNum(b.consented)))),
    empty: 'This course has no batches yet.',
  });

  const requestBox = h('div');
  const downloads = h('section', { 'aria-labelledby': 'downloads-title' });
  clear(main,
    h('p', null, h('a', { href: '#/courses' }, '← My courses')),
    h('h1', null, course.name),
    h('p', { class: 'muted' }, 'Course ', h('code', null, course.id),
      course.requiresConsent ? ' · asks learners for consent to share their profile' : ''),
    h('h2', null, t('ui_courses_batches')), batchTable,
    requestBox, downloads);

  if (!canReport) {
    requestBox.append(notice('info', isCreator
      ? 'Only the course creator holding the content creator role in the course’s organisation can request and download the User Profile Exhaust report. Ask an organisation administrator to give you the role again.'
      : 'Only the course creator can request and download the User Profile Exhaust report.'));
    return null;
  }
  const d = downloadsSection(downloads, session, { courseId: course.id, courseName: course.name, batches });
  if (batches.length) requestForm(requestBox, course, batches, d.watch);
  return d.stop;
}

function day(v) {
  if (!v) return '—';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toLocaleDateString(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
}

// requestForm asks for the batch and the password that will protect the
// zip. The password is sent once and never shown again; the rules are
// listed and ticked off as the creator types. watch(id, fn) calls fn once
// the Downloads list sees the requested report finished.
function requestForm(box, course, batches, watch) {
  const batchSel = h('select', null,
    batches.map((b) => h('option', { value: b.id }, `${b.name} (${fmtNum(b.enrolled)} enrolled)`)),
    batches.length > 1 ? h('option', { value: '' }, 'All batches of the course') : null);
  const pw = h('input', { type: 'password', autocomplete: 'new-password', spellcheck: false });
  const show = h('input', { type: 'checkbox' });
  const rulesID = nextID('pw-rules');
  const rules = h('ul', { class: 'rules', id: rulesID }, PW_RULES.map((r) => h('li', null, r.text)));
  const formError = h('div', { class: 'notice error', role: 'alert' });
  const ok = h('div', { role: 'status' });
  const btn = h('button', { type: 'submit', id: 'request-exhaust' }, 'Request User Profile Exhaust');
  const pwField = field({ label: 'Password for the zip file', name: 'password', control: pw,
    hint: 'The report is a zip file encrypted with this password (AES-256). You need it to open the file; Roster does not keep it, so note it somewhere safe.' });
  pw.setAttribute('aria-describedby', `${pw.getAttribute('aria-describedby')} ${rulesID}`);
  pwField.querySelector('.field-error').before(rules);
  const form = h('form', { novalidate: true, 'aria-labelledby': 'exhaust-title' },
    h('h2', { id: 'exhaust-title' }, 'User Profile Exhaust'),
    h('p', { class: 'muted' }, 'A CSV of every enrolled learner with their profile; personal details (name, external ID, mobile, email) are filled only for learners who consented to share them.'),
    formError, ok,
    field({ label: 'Batch', name: 'batchId', control: batchSel }),
    pwField,
    h('p', { class: 'check' }, h('label', { class: 'inline-check' }, show, ' Show password')),
    h('div', { class: 'actions' }, btn));
  clear(box, h('section', { class: 'card' }, form));

  const tick = () => {
    const p = pw.value;
    rules.querySelectorAll('li').forEach((li, i) => li.classList.toggle('met', PW_RULES[i].test(p)));
  };
  pw.addEventListener('input', tick);
  show.addEventListener('change', () => { pw.type = show.checked ? 'text' : 'password'; });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.textContent = '';
    clear(ok);
    const failed = PW_RULES.filter((r) => !r.test(pw.value)).map((r) => r.need);
    if (!pw.value) {
      showFieldErrors(form, { password: ['enter a password to protect the file'] });
      return;
    }
    if (failed.length) {
      showFieldErrors(form, { password: [`the password needs ${failed.join(', ')}`] });
      return;
    }
    btn.disabled = true;
    try {
      const body = { courseId: course.id, password: pw.value };
      if (batchSel.value) body.batchId = batchSel.value;
      const r = await api.post('reports', body);
      pw.value = '';
      tick();
      const pending = notice('ok', r.status === 'SUBMITTED' || r.status === 'PROCESSING'
        ? 'Your report is being prepared. It appears in Downloads below; this page updates by itself.'
        : 'Request recorded. See Downloads below.');
      // Focus goes to the confirmation, so keyboard and screen reader
      // users learn the outcome where the form was.
      pending.tabIndex = -1;
      clear(ok, pending);
      pending.focus();
      announce('Report requested');
      watch(r.id, (rep) => {
        if (!ok.contains(pending)) return; // a newer request or error is shown
        const next = finishedNotice(rep);
        next.tabIndex = -1;
        const hadFocus = document.activeElement === pending;
        clear(ok, next);
        if (hadFocus) next.focus();
        announce(rep.status === 'SUCCESS' ? 'Report ready' : 'Report failed');
      });
    } catch (err) {
      const rest = showFieldErrors(form, err.fields);
      if (rest.length || !Object.keys(err.fields).length) formError.textContent = [err.message, ...rest].join(' ');
    } finally {
      btn.disabled = false;
    }
  });
}

function finishedNotice(rep) {
  if (rep.status === 'SUCCESS') {
    return notice('ok', 'Your report is ready: download it from the list below. You need the password you chose to open it.');
  }
  if (rep.status === 'FAILED') {
    return notice('error', `The report could not be prepared${rep.failure ? `: ${rep.failure.replace(/\.$/, '')}` : ''}. You can request it again.`);
  }
  return notice('info', 'The report’s file has been deleted. Request a new one.');
}

const pendingStatus = (s) => s === 'SUBMITTED' || s === 'PROCESSING';

async function downloadsPage(main, session) {
  const section = h('section', { 'aria-labelledby': 'downloads-title' });
  clear(main, h('h1', null, t('ui_downloads_title')),
    h('p', { class: 'muted' }, t('ui_downloads_intro')),
    section);
  const d = downloadsSection(section, session, {});
  return d.stop;
}

// downloadsSection lists report requests and keeps the list fresh while any
// of them is still being prepared.
function downloadsSection(section, session, { courseId, courseName, batches }) {
  let timer = null;
  let stopped = false;
  // A refresh started by a request can overtake one started by the timer;
  // only the latest answer is drawn.
  let seq = 0;
  const watched = new Map(); // report id → called once it is finished
  const batchNames = Object.fromEntries((batches || []).map((b) => [b.id, b.name]));
  const body = h('div');
  clear(section, h('h2', { id: 'downloads-title' }, courseId ? t('ui_downloads_title') : t('ui_downloads_yours')), body);

  const refresh = async () => {
    clearTimeout(timer);
    const mine = ++seq;
    let r;
    try {
      r = await api.get(api.apiURL('reports', { courseId }));
    } catch (err) {
      if (!stopped && mine === seq) {
        drawn = null;
        clear(body, notice('error', err.message));
      }
      return;
    }
    if (stopped || mine !== seq) return;
    // The server lists them latest first (by time, then id); comparing
    // the timestamps as text here would misorder "10:00:00Z" and
    // "10:00:00.5Z".
    const reports = r.reports || [];
    // Redraw only when something but the freshly signed links changed: a
    // redraw every poll would take the keyboard focus off a Download link
    // and make screen readers start the table again.
    const shown = JSON.stringify(reports.map(({ download, ...rest }) => rest));
    if (shown !== drawn) {
      drawn = shown;
      draw(reports);
    }
    for (const rep of reports) {
      const fn = watched.get(rep.id);
      if (fn && !pendingStatus(rep.status)) { watched.delete(rep.id); fn(rep); }
    }
    if (reports.some((x) => pendingStatus(x.status))) timer = setTimeout(refresh, POLL_MS);
  };
  let drawn = null;
  const draw = (reports) => {
    clear(body, table({
      caption: 'Requested reports, latest first', stack: true, hideCaption: true,
      columns: [{ label: 'Report' }, { label: 'Requested at' }, { label: 'Status' }, { label: 'Generated at' },
        { label: 'Learners', num: true }, { label: 'Download' }],
      rows: reports.map((rep) => h('tr', { 'data-report': rep.id },
        h('td', null, reportName(rep, courseName, batchNames)),
        h('td', null, fmtDate(rep.requestedAt)),
        h('td', null, badge(rep.status), rep.failure ? h('span', { class: 'problem' }, rep.failure) : null),
        h('td', null, fmtDate(rep.finishedAt)),
        h('td', { class: 'num' }, rep.status === 'SUCCESS' ? `${fmtNum(rep.totalRows)} (${fmtNum(rep.consentedRows)} consented)` : '—'),
        h('td', null, downloadCell(rep)))),
      empty: 'No reports requested yet.',
    }));
  };
  refresh();
  return {
    watch: (id, fn) => { if (id) watched.set(id, fn); refresh(); },
    stop: () => { stopped = true; clearTimeout(timer); },
  };
}

function reportName(rep, courseName, batchNames) {
  const course = rep.courseName || courseName || rep.courseId;
  const batch = rep.batchName || batchNames[rep.batchId] || (rep.batchId ? rep.batchId : 'all batches');
  return h('span', null, h('strong', null, 'User Profile Exhaust'), h('br'), `${course} — ${batch}`);
}

// downloadCell gives a link to the signed URL. Signed links expire; when
// the one on the page has (the tab was left open), a click fetches a fresh
// one first, so the user never meets an "expired link" error.
function downloadCell(rep) {
  if (rep.status !== 'SUCCESS') return rep.status === 'EXPIRED' ? 'File deleted' : '—';
  const link = rep.download || {};
  const a = h('a', { class: 'download', href: link.url || '#', download: '', 'data-expires': link.expiresAt || '' }, 'Download');
  a.setAttribute('aria-label', `Download report requested ${fmtDate(rep.requestedAt)}`);
  a.addEventListener('click', async (ev) => {
    const exp = Date.parse(a.dataset.expires || '');
    if (a.getAttribute('href') !== '#' && exp && exp - Date.now() > 15000) return;
    ev.preventDefault();
    try {
      const fresh = await api.post(`reports/${encodeURIComponent(rep.id)}/link`);
      a.href = fresh.url;
      a.dataset.expires = fresh.expiresAt || '';
      a.click();
    } catch (err) {
      a.replaceWith(h('span', { class: 'field-error' }, err.message));
    }
  });
  return a;
}
