// The signed-in user's own account: who they are, how they are registered,
// and their single sign-on link. Open to everyone signed in.
import * as api from './api.js';
import { h, clear, notice } from './ui.js';
import * as sso from './sso.js';

export async function render(main, session, { query }) {
  const draw = async (done) => {
    const u = await api.get(`users/${encodeURIComponent(session.userID)}`);
    const memberships = (u.organisations || []).filter((m) => !m.isDeleted);
    const name = [u.firstName, u.lastName].filter(Boolean).join(' ') || u.userName;
    const links = await sso.section(u, { self: true, reload: draw, query: done ? null : query });
    clear(main,
      h('h1', null, 'My account'),
      h('div', { role: 'status' }, done ? notice('ok', done) : ''),
      h('section', { class: 'card' },
        h('dl', { class: 'profile' },
          h('dt', null, 'Name'), h('dd', null, name),
          h('dt', null, 'Username'), h('dd', null, u.userName || '—'),
          h('dt', null, 'Email'), h('dd', null, u.maskedEmail || '—'),
          h('dt', null, 'Phone'), h('dd', null, u.maskedPhone || '—'),
          h('dt', null, 'Registered through'), h('dd', { 'data-testid': 'association' },
            memberships.map((m) => associationName(m.associationType)).join(', ') || '—'))),
      links);
  };
  await draw(null);
}

// Seed 001's user_organisation.associationType bits.
function associationName(t) {
  const names = [];
  if (t & 1) names.push('state single sign-on');
  if (t & 2) names.push('self-declaration');
  if (t & 4) names.push('system upload');
  return names.join(' and ') || 'administrator';
}
