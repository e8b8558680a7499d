// Upload users (org admins): choose the organisation and a CSV or XLSX
// file, check it first (a dry run that writes nothing), upload it, watch it
// being processed and read each row's outcome. Past uploads are listed
// below the form.
import * as api from './api.js';
import { t } from './i18n.js';
import { readCSV } from './csv.js';
import {
  h, clear, field, showFieldErrors, clearFieldErrors, notice, badge, fmtDate, fmtNum, table, announce, sentence,
} from './ui.js';

const POLL_MS = 700;

// What the admin chose stays here while they move between the upload
// form and a result, so nothing has to be picked twice.
// After an upload starts the file is let go, so the same file is not sent
// twice by accident, but it stays available to preview the results.
const kept = { orgId: '', file: null, sent: null, mode: 'create' };

// The three things a file can do (issue 12.3); the server names them so.
const MODES = [
// Labels are looked up when drawn, once the catalogue has loaded.
  { value: 'create', label: () => t('ui_upload_mode_create'), hint: () => t('ui_upload_mode_create_hint') },
  { value: 'update', label: () => t('ui_upload_mode_update'), hint: () => t('ui_upload_mode_update_hint') },
  { value: 'upsert', label: () => t('ui_upload_mode_upsert'), hint: () => t('ui_upload_mode_upsert_hint') },
];

export async function render(main, session, { id, app }) {
  if (id) return progressPage(main, id, app);
  return formPage(main, session, app);
}

// --- The form ----------------------------------------------------------

async function loadOrgs(session) {
  const all = [];
  for (const root of session.adminTenants) {
    const r = await api.get(api.apiURL('organisations', { rootOrgId: root }));
    all.push(...(r.organisations || []));
  }
  // A tenant first, then its organisations by name.
  return all.sort((a, b) => (b.isTenant - a.isTenant) || a.name.localeCompare(b.name));
}

async function formPage(main, session, app) {
  const orgs = await loadOrgs(session);
  const orgSel = h('select', { required: true },
    h('option', { value: '' }, t('ui_upload_choose_org')),
    orgs.map((o) => h('option', { value: o.id }, o.externalId ? `${o.name} (${o.externalId})` : o.name)));
  if (orgs.length === 1) kept.orgId = orgs[0].id;
  orgSel.value = kept.orgId;

  const fileInput = h('input', { type: 'file', accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' });
  const chosen = h('p', { class: 'small', id: 'chosen-file', 'aria-live': 'polite' });
  const drop = h('label', { class: 'drop' },
    h('span', { class: 'big' }, t('ui_upload_drop')),
    h('span', { class: 'muted' }, t('ui_upload_or_choose')), fileInput);
  const fileField = h('div', { class: 'field', 'data-field': 'file' },
    h('p', { class: 'hint', id: 'file-hint' }, t('ui_upload_file_hint')),
    drop, chosen, h('p', { class: 'field-error', id: 'file-error' }));
  fileInput.id = 'file-input';
  fileInput.setAttribute('aria-describedby', 'file-hint chosen-file file-error');

  const showChosen = () => {
    chosen.textContent = kept.file ? t('ui_upload_selected', { Name: kept.file.name, Size: sizeText(kept.file.size) }) : t('ui_upload_no_file');
  };
  fileInput.addEventListener('change', () => {
    if (fileInput.files.length) kept.file = fileInput.files[0];
    showChosen();
    clear(checkOut);
  });
  // Dragging is an extra for mouse users; the labelled input is the way
  // everyone else picks the file.
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer.files[0];
    if (!f) return;
    kept.file = f;
    showChosen();
    clear(checkOut);
  });
  showChosen();

  const modeRadios = h('fieldset', { class: 'radios', id: 'mode' }, h('legend', null, t('ui_upload_mode')),
    MODES.map((m) => h('label', { title: m.hint() },
      h('input', { type: 'radio', name: 'mode', value: m.value, checked: m.value === kept.mode }), m.label())));
  const modeHint = h('p', { class: 'hint', id: 'mode-hint' });
  const confirmBox = h('input', { type: 'checkbox', id: 'confirm', name: 'confirm' });
  const confirmField = h('div', { class: 'field', 'data-field': 'confirm', id: 'confirm-field' },
    h('label', { for: 'confirm' }, confirmBox,
      t('ui_upload_confirm')),
    h('p', { class: 'field-error', id: 'confirm-error' }));
  confirmBox.setAttribute('aria-describedby', 'confirm-error');
  const showMode = () => {
    kept.mode = modeRadios.querySelector('input:checked').value;
    modeHint.textContent = MODES.find((m) => m.value === kept.mode).hint();
    confirmField.hidden = kept.mode === 'create';
  };
  modeRadios.addEventListener('change', () => { showMode(); clear(checkOut); });

  const formError = h('div', { class: 'notice error', role: 'alert' });
  const checkBtn = h('button', { type: 'button', class: 'secondary', id: 'check' }, t('ui_upload_check'));
  const uploadBtn = h('button', { type: 'submit', id: 'upload' }, t('ui_upload_submit'));
  const form = h('form', { novalidate: true, 'aria-label': t('ui_upload_title') },
    formError,
    field({ label: t('ui_upload_org'), name: 'orgId', control: orgSel, hint: t('ui_upload_org_hint') }),
    h('div', { class: 'field', 'data-field': 'mode' }, modeRadios, modeHint, h('p', { class: 'field-error' })),
    h('h2', null, t('ui_upload_file')),
    fileField,
    h('p', null, h('a', { href: api.apiURL('uploads/template.csv'), download: 'users-template.csv', id: 'template' }, t('ui_upload_template')),
      t('ui_upload_template_note')),
    columnHelp(),
    confirmField,
    h('div', { class: 'actions' }, checkBtn, uploadBtn,
      h('span', { class: 'muted small' }, t('ui_upload_check_note'))));
  const checkOut = h('div', { id: 'check-result' });
  const history = h('section', { 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, t('ui_upload_history')));
  showMode();

  clear(main, h('h1', null, t('ui_upload_title')),
    h('section', { class: 'card' }, form), checkOut, history);

  orgSel.addEventListener('change', () => {
    kept.orgId = orgSel.value;
    clear(checkOut);
    loadHistory(history, orgs);
  });

  const submit = async (dryRun) => {
    clearFieldErrors(form);
    formError.textContent = '';
    kept.orgId = orgSel.value;
    const missing = {};
    if (!kept.orgId) missing.orgId = ['choose the organisation the users belong to'];
    if (!kept.file) missing.file = ['choose the CSV or Excel file to upload'];
    if (Object.keys(missing).length) { showFieldErrors(form, missing); if (missing.file && !missing.orgId) fileInput.focus(); return; }
    const btn = dryRun ? checkBtn : uploadBtn;
    const label = btn.textContent;
    checkBtn.disabled = uploadBtn.disabled = true;
    btn.textContent = dryRun ? t('ui_upload_checking') : t('ui_upload_uploading');
    const fd = new FormData();
    fd.append('orgId', kept.orgId);
    fd.append('dryRun', dryRun ? 'true' : 'false');
    fd.append('mode', kept.mode);
    fd.append('confirm', kept.mode !== 'create' && confirmBox.checked ? 'true' : 'false');
    fd.append('file', kept.file, kept.file.name);
    try {
      const res = await api.postForm('uploads', fd);
      if (dryRun) {
        await showCheck(checkOut, res);
        // The check is recorded too; list it without a reload.
        loadHistory(history, orgs);
      } else {
        announce(t('ui_upload_started'));
        kept.sent = kept.file;
        kept.file = null;
        app.go(`#/upload/${res.id}`);
      }
    } catch (err) {
      // File-level problems (wrong header, too many rows, unreadable file)
      // belong to the file control; anything else to the form.
      // Only orgId and file are this form's own fields; a header problem
      // names columns of the file, which belong to the file control too.
      const fields = { ...err.fields };
      const names = Object.keys(fields);
      if (names.length && names.every((f) => f === 'orgId' || f === 'file' || f === 'confirm' || f === 'mode')) {
        showFieldErrors(form, fields);
      } else if (err.status === 422 || err.status === 413 || err.status === 400) {
        showFieldErrors(form, { file: [fileProblem(err)] });
      } else {
        formError.textContent = err.message;
      }
    } finally {
      checkBtn.disabled = uploadBtn.disabled = false;
      btn.textContent = label;
    }
  };
  checkBtn.addEventListener('click', () => submit(true));
  form.addEventListener('submit', (e) => { e.preventDefault(); submit(false); });

  if (kept.orgId) loadHistory(history, orgs);
  else history.append(h('p', { class: 'muted' }, t('ui_upload_history_choose')));
}

function fileProblem(err) {
  const p = err.problem || {};
  const extra = Object.entries(err.fields || {}).flatMap(([f, ms]) => ms.map((m) => (f ? `${f}: ${m}` : m)));
  return [p.detail || err.message, ...extra].filter(Boolean).join('. ');
}

function sizeText(n) {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function columnHelp() {
  const rules = [
    ['firstName', 'required; letters, spaces, dots and apostrophes'],
    ['lastName', 'optional'],
    ['phone', '10-digit Indian mobile, or + and the country code first; phone or email (or both) is required'],
    ['email', 'a valid email address'],
    ['userName', 'required and unique'],
    ['password', 'required; never shown again or written in the result file'],
    ['provider, phoneVerified', 'fill both or leave both blank; phoneVerified is TRUE when there is a phone, and only then'],
    ['emailVerified', 'TRUE only with an email'],
    ['roles', 'comma-separated, e.g. CONTENT_CREATOR, COURSE_MENTOR, ORG_ADMIN, PUBLIC'],
    ['grade, language, subject', 'comma-separated values from the template’s lists'],
    ['DOB', 'DD-MM-YYYY, YYYY-MM-DD or a year; in the past'],
    ['gender', 'Male, Female or Transgender'],
    ['externalId, externalIdType, externalIdProvider', 'all three or none'],
  ];
  return h('details', null, h('summary', null, t('ui_upload_columns')),
    h('dl', { class: 'profile small' }, rules.flatMap(([c, r]) => [h('dt', null, h('code', null, c)), h('dd', null, r)])));
}

// --- Dry run ------------------------------------------------------------

// errorsByColumn groups a row's problems by the column they name; problems
// without a column (or naming one the file lacks) go to the row itself.
function errorsByColumn(errors) {
  const by = {};
  for (const e of errors || []) (by[e.field || ''] ||= []).push(e.message);
  return by;
}

async function showCheck(out, res) {
  const rows = res.rows || [];
  const bad = rows.filter((r) => (r.errors || []).length);
  const cols = res.columns || [];
  const values = await preview(res);
  const update = res.mode && res.mode !== 'create';
  const changing = rows.filter((r) => r.action === 'update' && !(r.errors || []).length).length;
  const th = res.threshold;
  const thNote = th && th.exceeded
    ? notice('error', `This file would change or block ${fmtNum(th.changed)} of the organisation’s ${fmtNum(th.orgUsers)} users, more than the ${th.percent}% allowed without confirmation. Check the changes below; to go ahead, tick “Go ahead even if…” and upload.`)
    : null;
  const summary = update
    ? notice(bad.length ? 'error' : 'ok', `${fmtNum(rows.length)} rows checked: ${fmtNum(changing)} would update a user, ${fmtNum(rows.filter((r) => r.action === 'create' && !(r.errors || []).length).length)} would create one, ${fmtNum(rows.filter((r) => r.action === 'unchanged').length)} change nothing, ${fmtNum(bad.length)} with problems. Nothing has been changed yet.`)
    : bad.length
    ? notice('error', `${fmtNum(rows.length)} rows checked: ${fmtNum(rows.length - bad.length)} ready, ${fmtNum(bad.length)} with problems. Fix the highlighted cells and check again, or upload now and only the good rows are created.`)
    : notice('ok', `${fmtNum(rows.length)} rows checked: all ready to upload. Nothing has been created yet.`);
  clear(out, h('section', { class: 'card', 'aria-labelledby': 'check-title' },
    h('h2', { id: 'check-title' }, t('ui_upload_check_result')), summary, thNote, noPreview(res, values),
    rowTable({ caption: update ? 'Every row of the file: what it would do, and its problems' : 'Every row of the file, problems highlighted', cols, rows, values, showStatus: false, showChanges: update })));
  out.querySelector('h2').tabIndex = -1;
  out.querySelector('h2').focus();
  announce(bad.length ? t('ui_upload_rows_problems', { N: bad.length }) : t('ui_upload_all_ready'));
}

// rowTable shows one line per file row with the cells the server flagged
// highlighted and the message inside the cell, so the admin sees exactly
// what to fix in their spreadsheet.
// preview reads the chosen file's cells when it is the file the server
// reported on (same name, still in memory); otherwise the table shows the
// problems without the values.
async function preview(u) {
  const f = [kept.file, kept.sent].find((x) => x && x.name === u.fileName && x.size === u.fileSize);
  if (!f) return null;
  try {
    return await readCSV(f, u.columns);
  } catch {
    return null;
  }
}

// noPreview says why cells show only their problems: the browser reads
// CSV files for the preview, not Excel workbooks, and not a file that is
// no longer selected (the server never sends the values back).
function noPreview(u, values) {
  if (values) return null;
  const why = /\.xlsx$/i.test(u.fileName || '')
    ? 'Cell values of Excel files are not shown here: each problem is listed in its column; open the file to see the value.'
    : 'Cell values are shown only while the file is still selected on this page: each problem is listed in its column.';
  return h('p', { class: 'muted small', id: 'no-preview' }, why);
}

function cellText(col, v) {
  if (col === 'password') return v ? '••••••' : '';
  return v;
}

// rowTable shows one line per file row: its outcome and problems first,
// so they are seen without scrolling, then the file's own columns with the
// cells the server flagged highlighted and the message inside the cell, so
// the admin sees exactly what to fix in their spreadsheet.
function rowTable({ caption, cols, rows, values, showStatus, showChanges, empty }) {
  const columns = [{ label: t('ui_upload_col_row') }];
  if (showStatus) columns.push({ label: 'Outcome' });
  if (showChanges) columns.push({ label: 'Action' }, { label: 'Changes (old → new)' });
  columns.push({ label: t('ui_upload_col_problems') }, ...cols.map((c) => ({ label: c })));
  const trs = rows.map((r) => {
    const by = errorsByColumn(r.errors);
    const hasBad = (r.errors || []).length > 0;
    const vals = (values && values.get(r.row)) || {};
    const cells = [h('th', { scope: 'row' }, String(r.row))];
    if (showStatus) cells.push(h('td', null, badge(r.status)));
    if (showChanges) cells.push(h('td', { 'data-action': r.action || '' }, actionText(r)), changesCell(r.changes));
    const listed = (r.errors || []).map((e) => h('li', null, e.field ? h('strong', null, `${e.field}: `) : null, sentence(e.message)));
    let summary = showStatus ? '' : 'Ready';
    if (listed.length) summary = h('ul', null, listed);
    else if (r.userId) summary = h('a', { href: `#/users/${r.userId}` }, 'View user');
    cells.push(h('td', { class: 'errors' }, summary));
    for (const c of cols) {
      const v = cellText(c, vals[c] ?? '');
      const msgs = by[c];
      cells.push(msgs
        ? h('td', { class: 'cell-bad', 'data-col': c }, values ? (v || h('em', null, '(blank)')) : null,
          msgs.map((m) => h('span', { class: 'problem' }, sentence(m))))
        : h('td', { 'data-col': c }, v));
    }
    return h('tr', { class: hasBad ? 'row-bad' : null, 'data-row': String(r.row), 'data-status': r.status }, cells);
  });
  const tbl = table({ caption, columns, rows: trs, empty: empty || 'No rows.' });
  tbl.classList.add('rows');
  return tbl;
}

const ACTIONS = { create: 'Create', update: 'Update', unchanged: 'No change' };

function actionText(r) {
  if ((r.errors || []).length) return '—';
  return ACTIONS[r.action] || '—';
}

// changesCell lists a row's changes, old → new. Contacts, DOB and external
// ids come masked from the server; a cleared value shows as (blank).
function changesCell(changes) {
  if (!(changes || []).length) return h('td', { class: 'changes muted' }, '—');
  const show = (v) => (v ? h('span', null, v) : h('em', null, '(blank)'));
  return h('td', { class: 'changes' }, h('ul', null, changes.map((c) => h('li', { 'data-change': c.field },
    h('strong', null, `${c.field}: `), show(c.old), ' → ', show(c.new)))));
}

// --- Progress and results ----------------------------------------------

async function progressPage(main, id, app) {
  const title = h('h1', null, 'Upload');
  const meta = h('p', { class: 'muted' });
  const bar = h('progress', { max: 1, value: 0, id: 'progress', 'aria-labelledby': 'progress-label' });
  const label = h('p', { class: 'progress-label', id: 'progress-label' }, 'Waiting to start…');
  const counts = h('ul', { class: 'counts' });
  const message = h('div');
  const results = h('div');
  clear(main, h('p', null, h('a', { href: '#/upload' }, '← Upload another file')), title, meta,
    h('section', { class: 'card', 'aria-labelledby': 'progress-title' },
      h('h2', { id: 'progress-title', class: 'visually-hidden' }, 'Progress'),
      bar, label, counts, message),
    results);

  let timer = null;
  let stopped = false;
  let lastAnnounced = -1;
  const tick = async () => {
    let u;
    try {
      u = await api.get(`uploads/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err.status === 401 || stopped) return;
      if (err.status === 403 || err.status === 404) {
        // Asking again will not change the answer.
        title.textContent = 'Upload not found';
        label.textContent = '';
        bar.hidden = true;
        clear(message, notice('error', 'This upload does not exist or belongs to another organisation.'));
        return;
      }
      clear(message, notice('error', err.message));
      timer = setTimeout(tick, POLL_MS * 3);
      return;
    }
    if (stopped) return;
    // A check (dry run) created nobody: its good rows are "ready", and
    // nothing on this page may say they were created.
    const check = !!u.dryRun;
    title.textContent = `${check ? 'Check' : 'Upload'}: ${u.fileName || 'file'}`;
    meta.textContent = `${check ? 'Checked' : 'Started'} ${fmtDate(u.createdAt)} · Status `;
    meta.append(check ? h('span', { class: 'badge neutral' }, 'Check only') : badge(u.status));
    const total = u.total || 0;
    const done = u.processed || 0;
    bar.max = Math.max(total, 1);
    bar.value = Math.min(done, bar.max);
    const pct = total ? Math.floor((done * 100) / total) : (finished(u) ? 100 : 0);
    label.textContent = `${fmtNum(done)} of ${fmtNum(total)} rows ${check ? 'checked' : 'processed'} (${pct}%)`;
    clear(counts,
      h('li', null, h('strong', null, fmtNum(total)), 'rows'),
      h('li', null, h('strong', { 'data-count': 'succeeded' }, fmtNum(u.succeeded)), check ? 'ready' : doneWord(u)),
      h('li', null, h('strong', { 'data-count': 'failed' }, fmtNum(u.failed)), check ? 'with problems' : 'failed'));
    // Announce in steps of a quarter, not on every poll.
    const step = Math.floor(pct / 25);
    if (step !== lastAnnounced) { lastAnnounced = step; announce(`${pct}% processed`); }
    if (!finished(u)) {
      timer = setTimeout(tick, POLL_MS);
      return;
    }
    if (u.status === 'FAILED') {
      clear(message, notice('error', 'The file could not be processed: ', u.error || u.failure || 'unknown problem'));
    } else if (check) {
      clear(message, notice(u.failed ? 'info' : 'ok',
        `Check finished: ${rowCount(u.succeeded)} ready, ${fmtNum(u.failed)} with problems; nothing was created.`));
    } else {
      clear(message, notice(u.failed ? 'info' : 'ok',
        u.failed ? `Done. ${fmtNum(u.succeeded)} rows ${doneWord(u)}; ${fmtNum(u.failed)} rows failed. Download the result file, fix those rows and upload them again.`
          : `Done. All ${fmtNum(u.succeeded)} rows ${doneWord(u)}.`));
    }
    showResults(results, u);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

// doneWord is what a successful row did: created, or in an update (or
// upsert) created or updated.
const doneWord = (u) => (!u.mode || u.mode === 'create' ? 'created' : 'done (created or updated)');

const rowCount = (n) => `${fmtNum(n)} ${n === 1 ? 'row' : 'rows'}`;

const finished = (u) => u.status === 'COMPLETED' || u.status === 'FAILED';

// A dry run's rows are VALID rather than CREATED: nothing was created.
const filtersFor = (u) => [
  { value: '', label: 'All' },
  { value: 'FAILED', label: 'Failed' },
  u.dryRun ? { value: 'VALID', label: 'Ready' } : { value: 'CREATED', label: 'Created' },
  ...(!u.dryRun && u.mode && u.mode !== 'create' ? [{ value: 'UPDATED', label: 'Updated' }] : []),
];

async function showResults(out, u) {
  const filters = filtersFor(u);
  const list = h('div');
  const radios = h('div', { class: 'radios' }, filters.map((f, i) => h('label', null,
    h('input', { type: 'radio', name: 'row-filter', value: f.value, checked: i === 0 }), f.label)));
  const resultLink = h('a', { class: 'button', id: 'result-csv', href: api.apiURL(`uploads/${encodeURIComponent(u.id)}/result.csv`), download: '' },
    t('ui_upload_download_result'));
  clear(out, h('section', { class: 'card', 'aria-labelledby': 'results-title' },
    h('h2', { id: 'results-title' }, t('ui_upload_results')),
    h('div', { class: 'actions' }, resultLink,
      h('span', { class: 'muted small' }, 'Your columns (passwords left blank) plus status and errors, ready to fix and re-upload.')),
    h('fieldset', null, h('legend', null, 'Show rows'), radios),
    list));
  let values;
  // Switching filters quickly must not let a slower, older answer replace
  // the rows of the filter now chosen.
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    const status = radios.querySelector('input:checked').value;
    clear(list, h('p', { class: 'loading' }, 'Loading rows…'));
    try {
      const r = await api.get(api.apiURL(`uploads/${encodeURIComponent(u.id)}/rows`, { status, limit: 1000 }));
      const rows = r.rows || [];
      const cols = (u.columns || []).filter((c) => c !== 'password');
      values ??= await preview(u);
      if (mine !== seq) return;
      clear(list, noPreview(u, values), rowTable({
        caption: `${filters.find((f) => f.value === status).label} rows (${fmtNum(rows.length)})`,
        cols, rows, values, showStatus: true, showChanges: !!u.mode && u.mode !== 'create',
        empty: status === 'FAILED' ? 'No row failed.' : 'No rows.',
      }));
    } catch (err) {
      if (mine === seq) clear(list, notice('error', err.message));
    }
  };
  radios.addEventListener('change', load);
  load();
}

// --- History ----------------------------------------------------------------

// historyLoads numbers the loads, so an answer for an organisation chosen
// before never replaces the list of the one chosen now.
let historyLoads = 0;

async function loadHistory(section, orgs) {
  const mine = ++historyLoads;
  clear(section, h('h2', { id: 'history-title' }, t('ui_upload_history')), h('p', { class: 'loading' }, t('ui_loading')));
  const names = Object.fromEntries(orgs.map((o) => [o.id, o.name]));
  try {
    const r = await api.get(api.apiURL('uploads', { orgId: kept.orgId }));
    if (mine !== historyLoads) return;
    const ups = r.uploads || [];
    section.lastChild.replaceWith(table({
      caption: `Uploads for ${names[kept.orgId] || 'this organisation'}, latest first`, stack: true,
      // A check's good rows were not created, only found ready.
      columns: [{ label: t('ui_upload_col_started') }, { label: t('ui_upload_file') }, { label: t('ui_upload_col_status') },
        { label: t('ui_upload_col_rows'), num: true }, { label: t('ui_upload_col_created'), num: true }, { label: t('ui_upload_col_failed'), num: true }, { label: '' }],
      rows: ups.map((u) => h('tr', { 'data-upload': u.id, 'data-dry-run': u.dryRun ? 'true' : null },
        h('td', null, fmtDate(u.createdAt)),
        h('td', null, u.fileName || '—'),
        h('td', null, u.dryRun ? h('span', { class: 'badge neutral' }, 'Check only') : badge(u.status)),
        h('td', { class: 'num' }, fmtNum(u.total)),
        h('td', { class: 'num', 'data-count': 'succeeded' }, u.dryRun ? `${fmtNum(u.succeeded)} ready` : `${fmtNum(u.succeeded)} created`),
        h('td', { class: 'num' }, fmtNum(u.failed)),
        h('td', null, h('a', { href: `#/upload/${u.id}`, 'aria-label': `View ${u.dryRun ? 'check' : 'upload'} of ${u.fileName || 'file'} started ${fmtDate(u.createdAt)}` }, 'View')))),
      empty: t('ui_upload_no_uploads'),
    }));
  } catch (err) {
    if (mine === historyLoads) section.lastChild.replaceWith(notice('error', err.message));
  }
}
