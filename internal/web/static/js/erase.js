// Erasing a user (right to erasure): a section of the profile page, kept in
// its own module because it is irreversible and asks for more than the
// other actions: the admin reads what will happen, types the user's
// username to say they mean this one, and confirms with their own
// password, which the server checks.
import * as api from './api.js';
import { h, clear, field, showFieldErrors, clearFieldErrors, notice, announce } from './ui.js';

// eraseSection returns the card for user u, or null when u is erased
// already; onErased runs after a successful erasure.
export function eraseSection(u, onErased) {
  if (u.erasedDate) return null;
  const box = h('section', { class: 'card', 'aria-labelledby': 'erase-h' });
  const start = () => {
    const btn = h('button', { type: 'button', class: 'danger', 'data-testid': 'erase-start' }, 'Erase user…');
    btn.addEventListener('click', () => { confirmForm(); });
    clear(box, h('h2', { id: 'erase-h' }, 'Erase user'),
      h('p', { class: 'muted' }, 'Removes this person\'s personal data for good, as the right to erasure asks.'),
      h('div', { class: 'actions' }, btn));
  };
  const confirmForm = () => {
    const who = u.userName || u.id;
    const typed = h('input', { type: 'text', autocomplete: 'off', spellcheck: false });
    const pw = h('input', { type: 'password', autocomplete: 'current-password' });
    const msg = h('div', { class: 'notice error', role: 'alert' });
    const yes = h('button', { type: 'submit', class: 'danger' }, 'Erase for good');
    const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const form = h('form', { novalidate: true, 'aria-labelledby': 'erase-h' },
      h('h2', { id: 'erase-h' }, 'Erase user'),
      h('p', null, 'This cannot be undone. Their email, phone, recovery contacts, external IDs, name and date of birth ' +
        'are removed and can no longer be decrypted, not even from backups. They are signed out and cannot sign in again. ' +
        'Their user ID, organisations and course enrolments stay, so counts do not change; reports show them with blank details.'),
      msg,
      field({ label: `Type the username ${who} to confirm`, name: 'confirm', control: typed }),
      field({ label: 'Your password', name: 'password', control: pw, hint: 'Your own password, to confirm it is you' }),
      h('div', { class: 'actions' }, yes, no));
    clear(box, form);
    no.addEventListener('click', start);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearFieldErrors(form);
      msg.textContent = '';
      const missing = {};
      if (typed.value.trim() !== who) missing.confirm = [`type ${who} exactly`];
      if (!pw.value) missing.password = ['enter your password'];
      if (Object.keys(missing).length) { showFieldErrors(form, missing); return; }
      yes.disabled = true;
      try {
        await api.post(`users/${encodeURIComponent(u.id)}/erase`, { password: pw.value });
        pw.value = '';
        clear(box, h('h2', { id: 'erase-h' }, 'Erase user'), notice('ok', 'The user is erased.'));
        announce('User erased');
        onErased();
      } catch (err) {
        yes.disabled = false;
        pw.value = '';
        const rest = showFieldErrors(form, err.fields);
        if (rest.length || !Object.keys(err.fields || {}).length) msg.textContent = [err.message, ...rest].join(' ');
      }
    });
    typed.focus();
  };
  start();
  return box;
}
