// Terms and conditions waiting for the signed-in user: the console shows
// this page before any other until every pending kind is accepted. The
// server refuses what the terms cover (admin acts, reports) until then, so
// the page is a convenience, not the guard.
import * as api from './api.js';
import { h, clear, notice, announce } from './ui.js';

const titles = {
  platform: 'Terms of use',
  orgAdminTnc: 'Organisation administrator terms',
  reportViewerTnc: 'Report viewer terms',
};

const reasons = {
  platform: 'Everyone who uses Roster accepts these.',
  orgAdminTnc: 'You are an organisation administrator: until you accept these you cannot manage users, organisations or uploads.',
  reportViewerTnc: 'You can request User Profile Exhaust reports: until you accept these you cannot request or download them.',
};

export async function render(main, session, { app }) {
  const { terms } = await api.get('tnc');
  const pending = (session.principal.pendingTnc || [])
    .map((kind) => terms.find((t) => t.kind === kind))
    .filter(Boolean);
  const formError = h('div', { class: 'notice error', role: 'alert' });
  const boxes = pending.map((t) => h('input', { type: 'checkbox', id: `tnc-${t.kind}`, name: t.kind, required: true }));
  const submit = h('button', { type: 'submit', id: 'tnc-accept' }, 'Accept and continue');
  const form = h('form', { novalidate: true, 'aria-labelledby': 'tnc-title' },
    formError,
    pending.map((t, i) => h('section', { class: 'card', 'data-kind': t.kind },
      h('h2', null, titles[t.kind] || t.kind),
      h('p', null, reasons[t.kind] || '', ' ',
        h('a', { href: t.url, target: '_blank', rel: 'noopener noreferrer' }, `Read version ${t.version}`), ' (opens in a new tab).'),
      h('label', { class: 'check', for: boxes[i].id }, boxes[i],
        `I have read and accept the ${(titles[t.kind] || t.kind).toLowerCase()}, version ${t.version}.`))),
    h('div', { class: 'actions' }, submit));
  clear(main, h('h1', { id: 'tnc-title' }, 'Accept the terms to continue'),
    notice('info', 'New terms were published since you last accepted them. Read and accept them to continue, or sign out.'),
    form);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    formError.textContent = '';
    const unticked = boxes.find((b) => !b.checked);
    if (unticked) {
      formError.textContent = 'Tick every box to accept the terms, or sign out.';
      unticked.focus();
      return;
    }
    submit.disabled = true;
    try {
      for (const t of pending) await api.post('me/tnc', { kind: t.kind, version: t.version });
      announce('Terms accepted');
      await app.signedIn();
    } catch (err) {
      submit.disabled = false;
      // A version published while the page was open: show the new one.
      formError.textContent = err.status === 422
        ? 'Newer terms were published while this page was open. Reload the page to read them.'
        : err.message;
    }
  });
  return null;
}
