// DOM helpers. Text is always set with textContent, never innerHTML, so a
// name or CSV cell containing markup is shown, not run.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
export const nextID = (p) => `${p}-${++uid}`;

// field builds a labelled control with a hint and an error slot that the
// control points at with aria-describedby, so screen readers read both.
export function field({ label, hint, control, name, id, cls }) {
  id ||= nextID(name || 'f');
  control.id = id;
  if (name) control.name = name;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  const errEl = h('p', { class: 'field-error', id: `${id}-error` });
  control.setAttribute('aria-describedby', [hintEl && hintEl.id, errEl.id].filter(Boolean).join(' '));
  const wrap = h('div', { class: `field ${cls || ''}`.trim(), 'data-field': name || '' },
    h('label', { for: id }, label), hintEl, control, errEl);
  return wrap;
}

// showFieldErrors writes each message next to its control and focuses the
// first bad one. Values typed are left untouched. Messages for fields that
// have no control on the form are returned so the caller can show them.
export function showFieldErrors(form, fields) {
  clearFieldErrors(form);
  const orphans = [];
  let first = null;
  for (const [name, msgs] of Object.entries(fields || {})) {
    const wrap = name && form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (!wrap) { orphans.push(...msgs.map((m) => (name ? `${name}: ${m}` : m))); continue; }
    const ctl = wrap.querySelector('input, select, textarea');
    wrap.querySelector('.field-error').textContent = sentence(msgs.join('; '));
    if (ctl) {
      ctl.setAttribute('aria-invalid', 'true');
      // The first bad field in the form's order, whatever order the
      // server listed them in.
      if (!first || (ctl.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING)) first = ctl;
    }
  }
  if (first) first.focus();
  return orphans;
}

export function clearFieldErrors(form) {
  form.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
}

// sentence capitalises an API message ("is required" → "Is required").
export function sentence(s) {
  s = String(s || '').trim();
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

export function notice(kind, ...children) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

export function announce(msg) {
  const el = document.getElementById('announce');
  el.textContent = '';
  // A fresh text node after a tick makes screen readers repeat an identical
  // message.
  setTimeout(() => { el.textContent = msg; }, 50);
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function fmtDate(v) {
  if (!v) return '—';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : dateFmt.format(d);
}

export function fmtNum(n) { return n === undefined || n === null ? '—' : Number(n).toLocaleString(); }

const statusKinds = {
  SUCCESS: 'ok', APPROVED: 'ok', REJECTED: 'bad', WITHDRAWN: 'neutral', COMPLETED: 'ok', CREATED: 'ok', ACTIVE: 'ok', VALID: 'ok', OK: 'ok',
  FAILED: 'bad', ERROR: 'bad', INVALID: 'bad', BLOCKED: 'bad', REVOKED: 'bad',
  SUBMITTED: 'info', NEW: 'info', PENDING: 'info',
  PROCESSING: 'warn', IN_PROGRESS: 'warn', RUNNING: 'warn',
  EXPIRED: 'neutral', SKIPPED: 'neutral', ERASED: 'neutral',
};
const statusWords = { IN_PROGRESS: 'In progress', NEW: 'Queued' };

// badge shows a status in words and colour; the word alone carries the
// meaning, the colour only helps.
export function badge(status) {
  const s = String(status || '').toUpperCase();
  const word = statusWords[s] || (s ? s[0] + s.slice(1).toLowerCase().replaceAll('_', ' ') : 'Unknown');
  return h('span', { class: `badge ${statusKinds[s] || 'neutral'}`, 'data-status': s }, word);
}

// table builds a scrollable table; the wrapper is focusable so keyboard
// users can scroll it sideways on a narrow screen.
// With stack, each row becomes a small card on a phone-sized screen, every
// cell labelled with its column, instead of a table to scroll sideways.
// hideCaption keeps the caption for screen readers when a heading right
// above already says the same.
export function table({ caption, columns, rows, empty, stack, hideCaption }) {
  const head = h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)));
  const body = h('tbody');
  for (const r of rows) {
    if (stack) [...r.children].forEach((cell, i) => { if (columns[i]) cell.dataset.label = columns[i].label; });
    body.append(r);
  }
  if (!rows.length && empty) body.append(h('tr', null, h('td', { colspan: columns.length, class: 'muted empty' }, empty)));
  const capID = nextID('cap');
  return h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-labelledby': capID },
    h('table', { class: stack ? 'stack' : null },
      h('caption', { id: capID, class: hideCaption ? 'visually-hidden' : null }, caption), h('thead', null, head), body));
}

export function focusHeading(root) {
  const h1 = root.querySelector('h1');
  if (h1) { h1.tabIndex = -1; h1.focus(); }
}
