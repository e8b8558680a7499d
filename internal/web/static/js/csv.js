// Reading the admin's own CSV in the browser, only to show its cells next
// to the problems the server found. The server never sends row values back
// (they hold contact details and passwords), so the preview comes from the
// file the admin already has. Numbering follows the server: the header is
// row 1 and blank lines keep their number, as a spreadsheet shows them.

function decode(buf) {
  const b = new Uint8Array(buf);
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return new TextDecoder('utf-8').decode(b.subarray(3));
  if (b[0] === 0xff && b[1] === 0xfe) return new TextDecoder('utf-16le').decode(b.subarray(2));
  if (b[0] === 0xfe && b[1] === 0xff) return new TextDecoder('utf-16be').decode(b.subarray(2));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    // Excel's plain "CSV" on Windows; the server makes the same guess.
    return new TextDecoder('windows-1252').decode(b);
  }
}

function delimiter(text) {
  const line = text.split('\n', 1)[0];
  let best = ',';
  let n = line.split(',').length;
  for (const d of [';', '\t']) {
    const c = line.split(d).length;
    if (c > n) { best = d; n = c; }
  }
  return best;
}

// records splits CSV text into rows of cells (RFC 4180 quoting).
function records(text, delim) {
  const out = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { cell += '"'; i++; } else quoted = false;
      } else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === delim) { row.push(cell); cell = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      out.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); out.push(row); }
  return out;
}

const key = (s) => String(s).toLowerCase().replace(/\s+/g, '');

// readCSV returns the values of each data row by row number, keyed by the
// canonical column names the server reported; null for anything that is
// not a text file (an .xlsx preview would need a zip reader).
export async function readCSV(file, columns) {
  if (!file || /\.xlsx$/i.test(file.name) || file.size > 10 * 1024 * 1024) return null;
  let text = decode(await file.arrayBuffer());
  if (!text.includes('\n') && text.includes('\r')) text = text.replaceAll('\r', '\n');
  const recs = records(text, delimiter(text));
  const blank = (r) => r.every((v) => v.trim() === '');
  let h = recs.findIndex((r) => !blank(r));
  if (h < 0) return null;
  const canon = Object.fromEntries((columns || []).map((c) => [key(c), c]));
  const names = recs[h].map((c) => canon[key(c.replace(/^\uFEFF/, ''))] || null);
  const rows = new Map();
  for (let i = h + 1; i < recs.length; i++) {
    if (blank(recs[i])) continue;
    const v = {};
    names.forEach((n, j) => { if (n) v[n] = (recs[i][j] || '').trim(); });
    rows.set(i + 1, v);
  }
  return rows;
}
