// Calls to the Roster JSON API. The session is the HttpOnly cookie set by
// POST /api/v1/auth/login, so no token ever touches script-readable storage.
// Every request that changes something carries X-Roster-CSRF.

export const BASE = '/api/v1';

// APIError carries what the console shows: a sentence for the page and
// per-field messages for the controls that caused them.
export class APIError extends Error {
  constructor(status, problem, retryAfter) {
    super(plainMessage(status, problem, retryAfter));
    this.status = status;
    this.problem = problem || {};
    // Field name → list of messages. The API reports field errors as
    // RFC 9457 "errors" entries located at "body.<field>" (or query/path).
    this.fields = {};
    for (const e of this.problem.errors || []) {
      const loc = String(e.location || '');
      const field = loc.replace(/^(body|query|path|header)\.?/, '') || '';
      (this.fields[field] ||= []).push(e.message || 'is not valid');
    }
  }
}

function plainMessage(status, p, retryAfter) {
  if (status === 429) {
    // Sign-in delays grow from a second: say seconds while they are short.
    if (retryAfter > 0 && retryAfter < 60) {
      return `Too many attempts. Wait ${retryAfter === 1 ? 'a second' : `${retryAfter} seconds`} and try again.`;
    }
    const min = Math.max(1, Math.ceil((retryAfter || 60) / 60));
    return `Too many attempts. Wait ${min === 1 ? 'a minute' : `${min} minutes`} and try again.`;
  }
  if (status === 0) return 'The server could not be reached. Check your connection and try again.';
  if (status === 401) return 'Your session has ended. Please sign in again.';
  // A refusal for terms not yet accepted says which terms.
  if (status === 403) return (p && (p.errors || []).some((e) => String(e.location || '').endsWith('tnc')) && p.detail) || 'You are not allowed to do this.';
  if (status === 412) return 'Someone else changed this user after you opened the page. Reload to see their changes, then make yours again.';
  if (status === 404) return (p && p.detail) || 'Not found.';
  if (status === 413) return (p && p.detail) || 'The file is too large.';
  if (status >= 500) return 'Something went wrong on the server. Please try again in a moment.';
  return (p && (p.detail || p.title)) || `The request failed (HTTP ${status}).`;
}

const listeners = new Set();
// onUnauthorized lets the app return to the sign-in page from anywhere.
export function onUnauthorized(fn) { listeners.add(fn); }

export async function request(method, path, opts) {
  return (await exchange(method, path, opts)).body;
}

// exchange is request that also returns the answer's ETag, and sends
// ifMatch as If-Match: an edit made from a copy someone else has changed
// since is refused with 412 instead of undoing their change.
export async function exchange(method, path, { json, form, signal, quiet401, ifMatch } = {}) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin', signal };
  if (ifMatch) init.headers['If-Match'] = ifMatch;
  // The server refuses cookie-authenticated changes without this header,
  // which a page of another origin cannot send.
  if (method !== 'GET' && method !== 'HEAD') init.headers['X-Roster-CSRF'] = '1';
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  let res;
  try {
    res = await fetch(path.startsWith('/') ? path : `${BASE}/${path}`, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new APIError(0, null);
  }
  const etag = res.headers.get('ETag') || '';
  if (res.status === 204) return { body: null, etag };
  const type = res.headers.get('Content-Type') || '';
  const body = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    if (res.status === 401 && !quiet401) listeners.forEach((fn) => fn());
    throw new APIError(res.status, body, Number(res.headers.get('Retry-After')) || 0);
  }
  return { body, etag };
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, json, opts) => request('POST', path, { ...opts, json });
export const postForm = (path, form, opts) => request('POST', path, { ...opts, form });

export function apiURL(path, params) {
  const u = new URL(`${BASE}/${path}`, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
  }
  return u.pathname + u.search;
}
