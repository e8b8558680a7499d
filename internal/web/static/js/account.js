// The signed-in user's own account: who they are, how they are registered,
// and their single sign-on link. Open to everyone signed in.
import * as api from './api.js';
import { t } from './i18n.js';
import { h, clear, notice } from './ui.js';
import * as sso from './sso.js';

export async function render(main, session, { query }) {
  const draw = async (done) => {
    const u = await api.get(`users/${encodeURIComponent(session.userID)}`);
    const memberships = (u.organisations || []).filter((m) => !m.isDeleted);
    const name = [u.firstName, u.lastName].filter(Boolean).join(' ') || u.userName;
    const links = await sso.section(u, { self: true, reload: draw, query: done ? null : query });
    clear(main,
      h('h1', null, t('ui_my_account')),
      h('div', { role: 'status' }, done ? notice('ok', done) : ''),
      h('section', { class: 'card' },
        h('dl', { class: 'profile' },
          h('dt', null, t('ui_account_name')), h('dd', null, name),
          h('dt', null, t('ui_account_username')), h('dd', null, u.userName || '—'),
          h('dt', null, t('ui_account_email')), h('dd', null, u.maskedEmail || '—'),
          h('dt', null, t('ui_account_phone')), h('dd', null, u.maskedPhone || '—'),
          h('dt', null, t('ui_account_registered')), h('dd', { 'data-testid': 'association' },
            memberships.map((m) => associationName(m.associationType)).join(', ') || '—'))),
      links);
  };
  await draw(null);
}

// Seed 001's user_organisation.associationType bits.
function associationName(bits) {
  const names = [];
  if (bits & 1) names.push('state single sign-on');
  if (bits & 2) names.push('self-declaration');
  if (bits & 4) names.push('system upload');
  return names.join(' and ') || 'administrator';
}
