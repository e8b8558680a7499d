// The console's texts in the user's language. The catalogues are built by
// the server from the same files as its own messages (internal/i18n), so a
// key the console uses exists in every language (TestEveryLanguageHasEveryKey).
// The choice is kept in localStorage and in a cookie, which makes the
// server answer problems and result files in the same language.
const LANGS = ['en', 'hi', 'ta'];
const COOKIE = 'roster_lang';
const STORE = 'roster.lang';

let lang = 'en';
let cat = {};
let plural = new Intl.PluralRules('en');

function stored() {
  try {
    const l = localStorage.getItem(STORE);
    if (LANGS.includes(l)) return l;
  } catch { /* storage may be disabled */ }
  const m = document.cookie.match(/(?:^|;\s*)roster_lang=([a-z]+)/);
  return m && LANGS.includes(m[1]) ? m[1] : '';
}

// chosen: the stored choice, else the browser's first supported language.
function chosen() {
  const s = stored();
  if (s) return s;
  for (const l of navigator.languages || []) {
    const base = l.split('-')[0].toLowerCase();
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

function remember(l) {
  try { localStorage.setItem(STORE, l); } catch { /* the cookie still holds it */ }
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `${COOKIE}=${l}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
}

export function current() { return lang; }

// load fetches the catalogue of the chosen language and translates the
// page's fixed markup (elements with data-i18n).
export async function load() {
  lang = chosen();
  try {
    const res = await fetch(new URL(`../i18n/${lang}.json`, import.meta.url));
    if (!res.ok) throw new Error(String(res.status));
    cat = await res.json();
  } catch {
    // English is written into the code as the keys' fallback below.
    lang = 'en';
    cat = {};
  }
  plural = new Intl.PluralRules(lang);
  document.documentElement.lang = lang;
  // The server reads the cookie; keep it in step with what is shown.
  if (stored() !== lang) remember(lang);
  translate(document);
}

// t is the text of key with {{.Name}} placeholders filled from vars; a
// message with plural forms picks one by vars.N and the language's rules.
// fallback is the English text, used before a catalogue loads or without one.
export function t(key, vars, fallback) {
  let s = cat[key];
  if (s && typeof s === 'object') s = s[plural.select(Number(vars && vars.N) || 0)] || s.other;
  if (typeof s !== 'string') s = fallback || key;
  return s.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, k) => (vars && k in vars ? String(vars[k]) : ''));
}

// translate replaces the text of every [data-i18n] element below root and
// the title of every [data-i18n-title] one.
export function translate(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n, null, el.textContent);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle, null, el.title);
}

// switcher wires the header's language menu: a change is remembered and
// the page reloaded, so every page and server answer follows it.
export function switcher(select) {
  select.value = lang;
  select.addEventListener('change', () => {
    if (!LANGS.includes(select.value)) return;
    remember(select.value);
    location.reload();
  });
}
