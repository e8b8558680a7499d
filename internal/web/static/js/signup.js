// Self sign-up: the form, then the code sent to the email or phone. The
// server applies every rule and answers the same whether or not the
// address is registered; this page only collects values and shows the
// messages next to the fields that caused them.
import * as api from './api.js';
import { h, clear, field, notice, showFieldErrors, clearFieldErrors } from './ui.js';

const thisYear = new Date().getFullYear();

export async function render(main) {
  const cfg = await api.get('signup/config', { quiet401: true });
  const states = (await api.get('signup/locations', { quiet401: true })).locations || [];

  const first = h('input', { type: 'text', autocomplete: 'given-name', required: true });
  const last = h('input', { type: 'text', autocomplete: 'family-name' });
  const contact = h('input', { type: 'text', autocomplete: 'email', required: true, autocapitalize: 'none', spellcheck: false });
  const pw = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const year = h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'bday-year', required: true, maxlength: 4, placeholder: 'YYYY' });
  const state = h('select', { required: true },
    h('option', { value: '' }, 'Choose your state'),
    ...states.map((s) => h('option', { value: s.code, 'data-id': s.id }, s.name)));
  const district = h('select', { required: true, disabled: true }, h('option', { value: '' }, 'Choose your state first'));
  const tnc = h('input', { type: 'checkbox', required: true });
  const formError = h('div', { class: 'notice error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Sign up');
  const channels = [cfg.email && 'email', cfg.sms && 'mobile number'].filter(Boolean);
  const form = h('form', { novalidate: true, 'aria-labelledby': 'signup-title', id: 'signup-form' },
    formError,
    field({ label: 'First name', name: 'firstName', control: first }),
    field({ label: 'Last name', name: 'lastName', control: last }),
    field({ label: 'Email or mobile number', name: 'contact', control: contact,
      hint: channels.length ? `We send a code to your ${channels.join(' or ')} to check it is yours.` : 'Verification codes cannot be sent from this server at the moment.' }),
    field({ label: 'Password', name: 'password', control: pw, hint: '8 to 128 characters.' }),
    field({ label: 'Year of birth', name: 'yearOfBirth', control: year,
      hint: 'Under 18? A parent or guardian signs you up from their own account.' }),
    field({ label: 'State', name: 'state', control: state }),
    field({ label: 'District', name: 'profileLocation', control: district }),
    h('div', { class: 'field', 'data-field': 'tncAcceptedVersion' },
      h('label', { class: 'check' }, tnc, `I accept the terms of use (version ${cfg.tncVersion}).`),
      h('p', { class: 'field-error' })),
    h('div', { class: 'actions' }, submit));
  const card = h('section', { class: 'card narrow' },
    h('h1', { id: 'signup-title' }, 'Create your Roster account'), form,
    h('p', { class: 'hint' }, 'Already have an account? ', h('a', { href: '#/login' }, 'Sign in')));
  clear(main, card);

  tnc.addEventListener('change', () => {
    const wrap = form.querySelector('[data-field=tncAcceptedVersion]');
    wrap.querySelector('.field-error').textContent = '';
    tnc.removeAttribute('aria-invalid');
  });
  state.addEventListener('change', async () => {
    const id = state.selectedOptions[0] && state.selectedOptions[0].dataset.id;
    clear(district, h('option', { value: '' }, id ? 'Choose your district' : 'Choose your state first'));
    district.disabled = !id;
    if (!id) return;
    const list = (await api.get(api.apiURL('signup/locations', { parentId: id }), { quiet401: true })).locations || [];
    for (const d of list) district.append(h('option', { value: d.code }, d.name));
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.textContent = '';
    const c = contact.value.trim();
    const body = { firstName: first.value, lastName: last.value, password: pw.value, yearOfBirth: year.value.trim(),
      state: state.value, district: district.value, tncAcceptedVersion: tnc.checked ? cfg.tncVersion : '' };
    if (c.includes('@')) body.email = c; else body.phone = c;
    const missing = {};
    if (!c) missing.contact = ['enter your email or mobile number'];
    if (!tnc.checked) missing.tncAcceptedVersion = ['accept the terms of use to sign up'];
    if (Object.keys(missing).length) { showFieldErrors(form, missing); return; }
    submit.disabled = true;
    submit.textContent = 'Signing up…';
    try {
      await api.post('signup', body, { quiet401: true });
      verifyStep(main, body.email ? { email: c } : { phone: c }, pw.value);
    } catch (err) {
      submit.disabled = false;
      submit.textContent = 'Sign up';
      const fields = { ...err.fields };
      // The form has one box for both: point either at it.
      for (const f of ['email', 'phone']) if (fields[f]) fields.contact = [...(fields.contact || []), ...fields[f]], delete fields[f];
      const rest = showFieldErrors(form, fields);
      if (!Object.keys(fields).length || rest.length) formError.textContent = [err.message, ...rest].join(' ');
    }
  });
  first.focus();
  return null;
}

// verifyStep asks for the code. The password typed on the form goes with
// it: the server activates the sign-up only for the person who chose it.
function verifyStep(main, contact, password) {
  const code = h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, maxlength: 6 });
  const formError = h('div', { class: 'notice error', role: 'alert' });
  const status = h('div', { role: 'status' });
  const submit = h('button', { type: 'submit' }, 'Activate account');
  const resend = h('button', { type: 'button', class: 'secondary' }, 'Send a new code');
  const form = h('form', { novalidate: true, id: 'verify-form', 'aria-labelledby': 'verify-title' },
    formError, status,
    field({ label: 'Code', name: 'code', control: code, hint: 'Six digits. The code works for 10 minutes.' }),
    h('div', { class: 'actions' }, submit, resend));
  clear(main, h('section', { class: 'card narrow' },
    h('h1', { id: 'verify-title' }, 'Check your messages'),
    notice('info', `If ${contact.email || contact.phone} can be used, we sent a code to it. Enter it here to activate your account.`),
    form));

  resend.addEventListener('click', async () => {
    formError.textContent = status.textContent = '';
    try {
      await api.post('signup/resend', contact, { quiet401: true });
      status.textContent = 'A new code is on its way. Only the newest code works.';
    } catch (err) {
      formError.textContent = err.message;
    }
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.textContent = status.textContent = '';
    submit.disabled = true;
    try {
      await api.post('signup/verify', { ...contact, password, code: code.value.trim() }, { quiet401: true });
      clear(main, h('section', { class: 'card narrow', id: 'signup-done' },
        h('h1', null, 'Your account is active'),
        notice('ok', 'Sign in with your email or mobile number and the password you chose.'),
        h('p', null, h('a', { class: 'button', href: '#/login' }, 'Sign in'))));
    } catch (err) {
      submit.disabled = false;
      const rest = showFieldErrors(form, err.fields);
      if (!Object.keys(err.fields || {}).length || rest.length) formError.textContent = [err.message, ...rest].join(' ');
    }
  });
  code.focus();
}
