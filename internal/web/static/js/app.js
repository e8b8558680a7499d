// The console's shell: who is signed in, which pages they may see, and a
// hash router. Pages are modules exporting render(main, session, params),
// which may return a function that stops their timers when the user leaves.
import * as api from './api.js';
import { h, clear, notice, focusHeading, announce } from './ui.js';
import * as login from './login.js';
import * as signup from './signup.js';
import { forgot, choose } from './password.js';
import * as upload from './upload.js';
import * as users from './users.js';
import * as directory from './directory.js';
import * as audit from './audit.js';
import * as courses from './courses.js';
import * as account from './account.js';
import * as terms from './terms.js';
import * as declarations from './declarations.js';
import * as i18n from './i18n.js';
import { t } from './i18n.js';

const ADMIN = 'ORG_ADMIN';
const CREATOR = 'CONTENT_CREATOR';
const MENTOR = 'COURSE_MENTOR';

// Session describes the signed-in user as GET /api/v1/me reports it. The
// server decides every permission again; these checks only keep pages the
// user cannot use out of sight.
export class Session {
  constructor(me) {
    this.principal = me.principal;
    this.user = me.user || {};
    this.grants = me.principal.grants || [];
  }
  get userID() { return this.principal.userId; }
  get name() {
    const u = this.user;
    return [u.firstName, u.lastName].filter(Boolean).join(' ') || u.userName || this.principal.userName || 'Signed in';
  }
  roleOrgs(role) { return this.grants.filter((g) => (g.roles || []).includes(role)); }
  has(role) { return this.roleOrgs(role).length > 0; }
  get isAdmin() { return this.has(ADMIN); }
  // isTenantAdmin: ORG_ADMIN of a tenant's root organisation, who reads
  // the tenant's audit log.
  get isTenantAdmin() { return this.roleOrgs(ADMIN).some((g) => g.orgId === g.rootOrgId); }
  get isCreator() { return this.has(CREATOR); }
  get isMentor() { return this.has(MENTOR); }
  get seesCourses() { return this.isCreator || this.isMentor; }
  // pendingTerms: kinds of terms to accept before the console opens.
  get pendingTerms() { return this.principal.pendingTnc || []; }
  // mustChangePassword: someone else chose the password; the user
  // chooses their own before anything else.
  get mustChangePassword() { return !!this.principal.passwordMustChange; }

  // A self-signed-up user (no tenant bit in flagsValue, seed 001) may
  // declare a state and school.
  get declares() { return (this.user.flagsValue & 4) === 0; }
  // hasRoleInTenant mirrors roster.Principal.HasRoleInTenant: role held in
  // any organisation of the tenant rootOrgId.
  hasRoleInTenant(rootOrgId, role) { return this.roleOrgs(role).some((g) => g.rootOrgId === rootOrgId); }
  // adminTenants lists the tenants in which the user is an org admin.
  get adminTenants() { return [...new Set(this.roleOrgs(ADMIN).map((g) => g.rootOrgId))]; }
}

const routes = [
  { re: /^\/login$/, page: login, public: true },
  { re: /^\/terms$/, page: terms },
  { re: /^\/signup$/, page: signup, public: true },
  { re: /^\/forgot$/, page: forgot, public: true },
  { re: /^\/password$/, page: choose },
  { re: /^\/upload$/, page: upload, allow: (s) => s.isAdmin },
  { re: /^\/upload\/([\w-]+)$/, page: upload, allow: (s) => s.isAdmin },
  { re: /^\/users$/, page: users, allow: (s) => s.isAdmin },
  { re: /^\/directory$/, page: directory, allow: (s) => s.isAdmin },
  { re: /^\/users\/([\w-]+)$/, page: users, allow: (s) => s.isAdmin },
  { re: /^\/audit$/, page: audit, allow: (s) => s.isTenantAdmin },
  { re: /^\/courses$/, page: courses, allow: (s) => s.seesCourses },
  { re: /^\/courses\/([\w-]+)$/, page: courses, allow: (s) => s.seesCourses },
  { re: /^\/downloads$/, page: courses, view: 'downloads', allow: (s) => s.seesCourses },
  { re: /^\/declaration$/, page: declarations, allow: (s) => s.declares },
  { re: /^\/declarations$/, page: declarations, view: 'queue', allow: (s) => s.isAdmin },
  { re: /^\/account$/, page: account },
];

let session = null;
let stop = null;
// returnTo is the page someone asked for before signing in; they land on
// it afterwards (password or single sign-on) if their roles allow it.
let returnTo = null;
// navGen numbers navigations. Each page draws into its own element, so a
// slow page that finishes loading after the user moved on draws into a
// detached element and is stopped, instead of overwriting the new page.
let navGen = 0;
const main = document.getElementById('main');

function home(s) {
  if (!s) return '#/login';
  if (s.isAdmin) return '#/upload';
  if (s.seesCourses) return '#/courses';
  if (s.declares) return '#/declaration';
  return '#/none';
}

// The server sets this readable cookie beside the HttpOnly session cookie
// (httpapi.SessionHintCookie). Without it there is no session to ask
// about, and asking would log a 401 in the browser console on every page
// load before sign-in.
const HINT = 'roster_signed_in';

function hasSessionHint() {
  return document.cookie.split(';').some((c) => c.trim() === `${HINT}=1`);
}

export async function loadSession() {
  if (!hasSessionHint()) {
    session = null;
    paintChrome();
    return session;
  }
  try {
    session = new Session(await api.get('me', { quiet401: true }));
  } catch (err) {
    if (!(err instanceof api.APIError) || err.status !== 401) throw err;
    // The session ended (expired, password changed): drop the stale hint
    // so the next page load does not ask again.
    document.cookie = `${HINT}=; Max-Age=0; Path=/; SameSite=Strict`;
    session = null;
  }
  paintChrome();
  return session;
}

function paintChrome() {
  const nav = document.getElementById('nav');
  const account = document.getElementById('account');
  nav.hidden = account.hidden = !session;
  if (!session) return;
  document.getElementById('whoami').textContent = session.name;
  for (const li of nav.querySelectorAll('li[data-needs]')) {
    const needs = { admin: session.isAdmin, tenantadmin: session.isTenantAdmin, courses: session.seesCourses, declare: session.declares };
    li.hidden = !needs[li.dataset.needs];
  }
}

function markCurrent(path) {
  for (const a of document.querySelectorAll('#nav a')) {
    const target = a.getAttribute('href').slice(1);
    if (path === target || path.startsWith(`${target}/`)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// route draws the page of the current hash. While it loads, <main> is
// aria-busy, so assistive technology waits for the finished page; data-nav
// (a counter) and data-route tell the browser tests which navigation the
// page on screen belongs to.
async function route() {
  if (stop) { stop(); stop = null; }
  const [path, query] = (location.hash.replace(/^#/, '') || '/').split('?');
  const gen = ++navGen;
  main.dataset.nav = String(gen);
  main.dataset.route = path;
  main.setAttribute('aria-busy', 'true');
  try {
    await show(path, query, gen);
  } finally {
    if (gen === navGen) main.removeAttribute('aria-busy');
  }
}

async function show(path, query, gen) {
  markCurrent(path);
  // Pending terms come before every other page; the page asked for is
  // shown once they are accepted.
  if (session && session.mustChangePassword && path !== '/password') {
    if (allowed(path)) returnTo = path;
    return go('#/password');
  }
  if (r0(path) === choose && session && !session.mustChangePassword) return go(home(session));
  if (session && session.pendingTerms.length && path !== '/terms') {
    if (allowed(path)) returnTo = path;
    return go('#/terms');
  }
  let match = null;
  let r;
  for (r of routes) { match = path.match(r.re); if (match) break; }
  if (!match) {
    if (path === '/none' && session) return noRoles();
    return go(home(session));
  }
  if (!r.public && !session) {
    returnTo = path;
    return go('#/login');
  }
  if (r.public && session) return go(home(session));
  if (r.page === terms && !session.pendingTerms.length) return go(home(session));
  if (r.allow && !r.allow(session)) {
    clear(main, h('h1', null, t('ui_not_available')),
      notice('error', t('ui_no_access')),
      h('p', null, h('a', { href: home(session) }, t('ui_go_start'))));
    focusHeading(main);
    return;
  }
  const view = h('div');
  clear(main, view);
  try {
    const params = { id: match[1], view: r.view, query: new URLSearchParams(query || ''), app: appAPI };
    const result = await r.page.render(view, session, params);
    if (gen !== navGen) {
      if (typeof result === 'function') result();
      return;
    }
    if (typeof result === 'function') stop = result;
  } catch (err) {
    if (gen !== navGen || (err instanceof api.APIError && err.status === 401)) return;
    clear(view, h('h1', null, t('ui_went_wrong')), notice('error', err.message || String(err)));
  }
  // Move focus to the new page's heading so screen readers announce it,
  // unless the page already put it on a control.
  if (!view.contains(document.activeElement)) focusHeading(view);
}

function noRoles() {
  clear(main, h('h1', null, `Welcome, ${session.name}`),
    notice('info', 'Your account has no role that uses this console. An organisation administrator can give you one.'),
    h('p', null, h('a', { href: '#/account' }, 'See your account')));
  focusHeading(main);
}

function r0(path) {
  const r = routes.find((x) => x.re.test(path));
  return r && r.page;
}

function allowed(path) {
  const r = routes.find((x) => x.re.test(path));
  return !!r && !r.public && (!r.allow || r.allow(session));
}

const appAPI = {
  go,
  // returnPath is where single sign-on should bring the browser back to.
  returnPath: () => `/#${returnTo || '/'}`,
  async signedIn() {
    await loadSession();
    announce(t('ui_signed_in_as', { Name: session ? session.name : '' }));
    const next = returnTo && allowed(returnTo) ? `#${returnTo}` : home(session);
    returnTo = null;
    go(next);
  },
};

async function signOut() {
  try { await api.post('auth/logout', undefined, { quiet401: true }); } catch { /* the cookie is cleared anyway on next 401 */ }
  session = null;
  paintChrome();
  announce(t('ui_signed_out'));
  go('#/login');
}

api.onUnauthorized(() => {
  if (!session) return;
  session = null;
  paintChrome();
  go('#/login');
});

document.getElementById('signout').addEventListener('click', signOut);
window.addEventListener('hashchange', route);

(async () => {
  // The catalogue comes first: every page draws its labels through t().
  await i18n.load();
  i18n.switcher(document.getElementById('lang'));
  try {
    await loadSession();
  } catch (err) {
    clear(main, h('h1', null, t('ui_unavailable')), notice('error', err.message));
    return;
  }
  route();
})();
