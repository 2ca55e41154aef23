// vigil web console: plain JavaScript over the gateway API (cli/openapi.yaml).
// Pages are hash routes: #/alerts, #/alert/<episode>, #/silences, #/rules,
// #/oncall. The bearer token, when one is entered, lives in sessionStorage
// (this tab only) and goes in the Authorization header of every API call.
// Everything from the server is put in the page as text, never as HTML.
'use strict';

const TOKEN_KEY = 'vigil.token';
const MAX_ROWS = 300; // alerts shown per owner
const REFRESH_MS = 30000; // the alerts page reloads itself this often
let session = { who: 'anonymous', read_only: false, open_reads: true };

// ---- small helpers ----

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

function headers(extra) {
  const h = Object.assign({ Accept: 'application/json' }, extra || {});
  if (token()) h.Authorization = 'Bearer ' + token();
  return h;
}

// One API call: {ok, status, data} where data is the JSON body (or
// {error} for a non-JSON answer). Never throws.
async function api(method, path, body) {
  const init = { method, headers: headers(body !== undefined ? { 'Content-Type': 'application/json' } : {}) };
  if (body !== undefined) init.body = JSON.stringify(body);
  try {
    const r = await fetch(path, init);
    let data;
    try { data = await r.json(); } catch (e) { data = { error: 'HTTP ' + r.status + ' (not JSON)' }; }
    return { ok: r.ok, status: r.status, data };
  } catch (e) {
    return { ok: false, status: 0, data: { error: 'cannot reach the server: ' + e.message } };
  }
}

function errText(r) {
  const m = r.data && r.data.error ? r.data.error : 'request failed';
  return r.status ? `${r.status}: ${m}` : m;
}

// Append to a page element, dropping null / false (DOM append would print them).
function add(parent, ...kids) {
  parent.append(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
}

function msg(kind, text) { return el('div', { class: 'msg msg-' + kind, role: kind === 'error' ? 'alert' : 'status' }, text); }

function fmtAge(s) {
  if (typeof s !== 'number' || !isFinite(s)) return '';
  s = Math.max(0, Math.round(s));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm';
  if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
  return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
}

function fmtTime(t) { return t ? String(t).replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC') : ''; }

function fmtNum(v) {
  if (typeof v !== 'number') return v === undefined || v === null ? '–' : String(v);
  return Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(+v.toPrecision(5));
}

function sevBadge(a) {
  const s = (a.labels && a.labels.severity) || 'notify';
  const cls = ['page', 'notify', 'log'].includes(s) ? s : 'notify';
  return el('span', { class: 'sev sev-' + cls }, s);
}

function flags(a) {
  return ['acknowledged', 'muted', 'held'].filter((f) => a[f]).map((f) => el('span', { class: 'flag flag-' + f }, f));
}

const canWrite = () => !session.read_only && session.who !== 'anonymous';

// When a read needs a token, say so with a way to give one.
function needToken(view, r) {
  add(view, msg('error', errText(r)));
  if (r.status === 401 || r.status === 403)
    add(view, el('p', {}, el('button', { type: 'button', onclick: openToken }, 'Enter a token')));
}

// ---- session, banner, token ----

async function loadSession() {
  const r = await api('GET', '/api/v1/session');
  if (r.ok) session = r.data;
  else session = { who: r.status === 401 ? 'invalid token' : 'unknown', read_only: false, open_reads: false };
  document.getElementById('who').textContent = session.who;
  const b = document.getElementById('banner');
  if (session.read_only) {
    b.textContent = 'Read-only: this server has no tokens configured, so it serves reads only and only on a loopback address. Acknowledge, silence and expire are disabled.';
    b.hidden = false;
  } else if (r.status === 401) {
    b.textContent = 'The token in this tab was refused: ' + errText(r) + '. Enter another or forget it.';
    b.hidden = false;
  } else if (session.who === 'anonymous') {
    b.textContent = 'Not signed in: enter a team or admin token (Token, top right) to acknowledge or silence.';
    b.hidden = false;
  } else {
    b.hidden = true;
  }
}

function openToken() {
  const d = document.getElementById('token-dialog');
  document.getElementById('token-input').value = '';
  d.showModal();
}

function setupToken() {
  document.getElementById('token-button').addEventListener('click', openToken);
  const d = document.getElementById('token-dialog');
  d.addEventListener('close', async () => {
    if (d.returnValue === 'save') {
      const v = document.getElementById('token-input').value.trim();
      if (v) sessionStorage.setItem(TOKEN_KEY, v);
    } else if (d.returnValue === 'clear') {
      sessionStorage.removeItem(TOKEN_KEY);
    } else {
      return;
    }
    await loadSession();
    route();
  });
}

// ---- alerts ----

async function ownerNames() {
  const r = await api('GET', '/api/v1/owners');
  return r.ok ? r.data.map((o) => o.name) : [];
}

async function pageAlerts(view, q) {
  const owner = q.get('owner') || '', state = q.get('state') || '';
  const names = await ownerNames();
  const go = () => {
    const p = new URLSearchParams();
    if (ownerSel.value) p.set('owner', ownerSel.value);
    if (stateSel.value) p.set('state', stateSel.value);
    location.hash = '#/alerts' + (p.toString() ? '?' + p : '');
  };
  const ownerSel = el('select', { id: 'filter-owner', onchange: go }, el('option', { value: '' }, 'all owners'),
    names.map((n) => el('option', { value: n, selected: n === owner }, n)));
  const stateSel = el('select', { id: 'filter-state', onchange: go }, el('option', { value: '' }, 'any state'),
    ['active', 'acknowledged', 'muted', 'held'].map((s) => el('option', { value: s, selected: s === state }, s)));
  add(view, el('h1', {}, 'Open alerts'),
    el('div', { class: 'filters' },
      el('div', {}, el('label', { for: 'filter-owner' }, 'Owner'), ownerSel),
      el('div', {}, el('label', { for: 'filter-state' }, 'State'), stateSel),
      el('button', { type: 'button', class: 'ghost', onclick: route }, 'Refresh')));
  const p = new URLSearchParams();
  if (owner) p.set('owner', owner);
  if (state) p.set('state', state);
  const r = await api('GET', '/api/v1/alerts' + (p.toString() ? '?' + p : ''));
  if (!r.ok) return needToken(view, r);
  if (r.data.length === 0) {
    add(view, el('p', { class: 'empty' }, 'No open alerts' + (owner ? ' for ' + owner : '') + (state ? ' in state ' + state : '') + '.'));
    return;
  }
  const by = new Map();
  for (const a of r.data) {
    if (!by.has(a.owner)) by.set(a.owner, []);
    by.get(a.owner).push(a);
  }
  const rank = { page: 0, notify: 1, log: 2 };
  for (const [o, list] of [...by.entries()].sort((x, y) => x[0].localeCompare(y[0]))) {
    list.sort((x, y) => (rank[x.labels.severity] ?? 1) - (rank[y.labels.severity] ?? 1) || (y.age_seconds || 0) - (x.age_seconds || 0));
    const more = list.length - MAX_ROWS;
    add(view, el('section', { class: 'owner-group' },
      el('h2', {}, o, el('span', { class: 'count' }, list.length + ' open')),
      more > 0 ? el('p', { class: 'empty' }, `Showing the first ${MAX_ROWS}; ${more} more: filter by state to narrow.`) : null,
      el('div', { class: 'card' },
        list.slice(0, MAX_ROWS).map((a) => el('a', { class: 'alert-row', href: '#/alert/' + a.episode, 'data-episode': a.episode },
          sevBadge(a),
          el('span', { class: 'rule' }, a.rule),
          el('span', { class: 'series' }, a.series),
          el('span', { class: 'meta' },
            el('span', { title: fmtTime(a.startsAt) }, a.age_seconds !== undefined ? 'for ' + fmtAge(a.age_seconds) : ''),
            flags(a)))))));
  }
}

// The chart comes from the gateway's renderer; it is fetched with the token
// (an <img> cannot send one) and shown from a blob: URL.
async function loadChart(box, a) {
  box.replaceChildren(el('div', { class: 'unavailable' }, 'loading chart…'));
  try {
    const src = (a.chart && a.chart.svg) || '/api/v1/alerts/' + encodeURIComponent(a.episode) + '/chart.svg';
    const r = await fetch(src, { headers: headers({ Accept: 'image/svg+xml' }) });
    const ct = r.headers.get('Content-Type') || '';
    if (!r.ok || !ct.startsWith('image/svg')) throw new Error('HTTP ' + r.status);
    const url = URL.createObjectURL(new Blob([await r.text()], { type: 'image/svg+xml' }));
    const img = el('img', { id: 'chart-img', alt: 'series ' + a.series + ' with its expected band and anomalies' });
    img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
    img.src = url;
    box.replaceChildren(img);
  } catch (e) {
    box.replaceChildren(el('div', { class: 'unavailable', id: 'chart-unavailable' }, 'chart unavailable (' + e.message + ')'));
  }
}

function whyBlock(w) {
  if (!w) return el('p', { class: 'empty' }, 'The alert carries no "why".');
  const rows = [['observed', fmtNum(w.observed)], ['expected', fmtNum(w.expected)],
    ['band', fmtNum(w.lower) + ' .. ' + fmtNum(w.upper)], ['score', fmtNum(w.score)],
    ['threshold', fmtNum(w.threshold)], ['detector', w.detector], ['direction', w.direction]];
  return el('dl', { class: 'why', id: 'why' }, rows.filter((x) => x[1] !== undefined).map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function historyBlock(h) {
  if (!h || !h.length) return el('p', { class: 'empty' }, 'No history.');
  return el('ol', { class: 'history', id: 'history' },
    h.map((x) => el('li', {}, x.at ? el('time', {}, fmtTime(x.at)) : null, el('strong', {}, x.event), x.detail ? ' — ' + x.detail : '')));
}

// Matchers a silence of this alert starts from: its own labels and its
// alertname; the derived ones (owner, rule, series, ...) are left out.
function defaultMatchers(a) {
  const skip = new Set(['owner', 'rule', 'action', 'severity', 'series', 'name']);
  return Object.entries(a.labels || {}).filter(([k]) => !skip.has(k)).map(([k, v]) => k + '=' + v);
}

function silenceForm(a, out) {
  const matchers = el('textarea', { id: 'sil-matchers', rows: 5, spellcheck: 'false' }, defaultMatchers(a).join('\n'));
  const duration = el('select', { id: 'sil-duration' }, ['30m', '1h', '2h', '4h', '12h', '1d', '7d'].map((d) => el('option', { value: d, selected: d === '2h' }, d)));
  const comment = el('input', { id: 'sil-comment', type: 'text', placeholder: 'why (required)', maxlength: 1000 });
  const preview = el('div', { id: 'sil-preview' });
  const spec = (forPreview) => ({
    owner: a.owner,
    matchers: matchers.value.split('\n').map((s) => s.trim()).filter(Boolean),
    duration: duration.value,
    comment: comment.value.trim() || (forPreview ? '(preview)' : ''),
  });
  const doPreview = async () => {
    const r = await api('POST', '/api/v1/silences/preview', spec(true));
    if (!r.ok) return preview.replaceChildren(msg('error', errText(r)));
    preview.replaceChildren(el('p', {}, `Would mute ${r.data.length} open alert${r.data.length === 1 ? '' : 's'}:`),
      el('ul', {}, r.data.map((x) => el('li', {}, el('strong', {}, x.rule), ' ', el('span', { class: 'mono' }, x.series)))));
  };
  const create = async () => {
    const s = spec(false);
    if (!s.comment) return out.replaceChildren(msg('error', 'A comment is required: say why you silence it.'));
    const r = await api('POST', '/api/v1/silences', s);
    if (!r.ok) return out.replaceChildren(msg('error', errText(r)));
    out.replaceChildren(msg('ok', 'Silence ' + r.data.id + ' created'), el('a', { href: '#/silences' }, 'see the silences'));
    form.hidden = true;
  };
  const form = el('div', { class: 'card', id: 'silence-form' },
    el('h2', {}, 'Silence alerts like this one'),
    el('label', { for: 'sil-matchers' }, 'Matchers (one per line: name=v, name!=v, name=~re, name!~re)'), matchers,
    el('label', { for: 'sil-duration' }, 'Duration'), duration,
    el('label', { for: 'sil-comment' }, 'Comment'), comment,
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'ghost', id: 'sil-preview-button', onclick: doPreview }, 'Preview'),
      el('button', { type: 'button', id: 'sil-create', onclick: create, disabled: !canWrite() }, 'Create silence')),
    preview);
  doPreview();
  return form;
}

async function pageAlert(view, ep) {
  const r = await api('GET', '/api/v1/alerts/' + encodeURIComponent(ep));
  add(view, el('p', {}, el('a', { href: '#/alerts' }, '← all alerts')));
  if (!r.ok) {
    if (r.status === 404) add(view, msg('error', 'This alert is not open any more (resolved, or an unknown episode).'));
    else needToken(view, r);
    return;
  }
  const a = r.data;
  const out = el('div', { id: 'action-result' });
  const ack = async () => {
    const res = await api('POST', `/api/v1/alerts/${encodeURIComponent(ep)}/${a.acknowledged ? 'unack' : 'ack'}`, {});
    if (!res.ok) return out.replaceChildren(msg('error', errText(res)));
    out.replaceChildren(msg('ok', a.acknowledged ? 'Acknowledgement taken back.' : 'Acknowledged: escalation stops.'));
    setTimeout(route, 900);
  };
  const silBox = el('div');
  const chart = el('figure', { class: 'chart', id: 'chart' });
  add(view, 
    el('h1', {}, sevBadge(a), ' ', a.rule),
    el('p', { class: 'mono' }, a.series),
    a.summary ? el('p', {}, a.summary) : null,
    el('p', {}, 'owner ', el('strong', {}, a.owner), a.startsAt ? ' · started ' + fmtTime(a.startsAt) : '',
      a.age_seconds !== undefined ? ' · open for ' + fmtAge(a.age_seconds) : '', ' ', flags(a)),
    // only http(s) links: a runbook URL may come from any ingested alert
    a.runbook_url && /^https?:\/\//i.test(a.runbook_url)
      ? el('p', {}, el('a', { href: a.runbook_url, rel: 'noopener noreferrer', target: '_blank' }, 'runbook'))
      : a.runbook_url ? el('p', {}, 'runbook: ', el('span', { class: 'mono' }, a.runbook_url)) : null,
    el('div', { class: 'actions' },
      el('button', { type: 'button', id: 'ack-button', onclick: ack, disabled: !canWrite() }, a.acknowledged ? 'Unacknowledge' : 'Acknowledge'),
      el('button', { type: 'button', class: 'ghost', id: 'silence-button', onclick: () => silBox.replaceChildren(silenceForm(a, out)) }, 'Silence…')),
    out,
    chart,
    silBox,
    el('div', { class: 'grid2' },
      el('section', { class: 'card' }, el('h2', {}, 'Why'), whyBlock(a.why)),
      el('section', { class: 'card' }, el('h2', {}, 'Labels'),
        el('div', { class: 'labels' }, Object.entries(a.labels || {}).map(([k, v]) => el('code', {}, k + '=' + v))))),
    el('section', { class: 'card' }, el('h2', {}, 'Episode ' + a.episode), historyBlock(a.history)));
  loadChart(chart, a);
}

// ---- silences ----

async function pageSilences(view) {
  add(view, el('h1', {}, 'Silences'));
  const r = await api('GET', '/api/v1/silences');
  if (!r.ok) return needToken(view, r);
  const out = el('div');
  add(view, out);
  if (!r.data.length) return add(view, el('p', { class: 'empty' }, 'No silences.'));
  const order = { active: 0, pending: 1, expired: 2 };
  r.data.sort((x, y) => (order[x.state] ?? 3) - (order[y.state] ?? 3));
  const expire = (s) => async () => {
    const res = await api('DELETE', '/api/v1/silences/' + encodeURIComponent(s.id));
    if (!res.ok) return out.replaceChildren(msg('error', errText(res)));
    out.replaceChildren(msg('ok', 'Silence ' + s.id + ' expired.'));
    setTimeout(route, 700);
  };
  add(view, el('div', { class: 'card' }, el('table', { class: 'stack', id: 'silences' },
    el('thead', {}, el('tr', {}, ['state', 'owner', 'matchers', 'ends', 'by', 'comment', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, r.data.map((s) => el('tr', { 'data-id': s.id },
      el('td', { 'data-h': 'state', class: 'state-' + s.state }, s.state),
      el('td', { 'data-h': 'owner' }, s.owner),
      el('td', { 'data-h': 'matchers', class: 'wrap mono' }, (s.matchers || []).join(', ')),
      el('td', { 'data-h': 'ends' }, fmtTime(s.ends_at)),
      el('td', { 'data-h': 'by' }, s.created_by),
      el('td', { 'data-h': 'comment' }, s.comment),
      el('td', {}, s.state !== 'expired'
        ? el('button', { type: 'button', class: 'danger expire', onclick: expire(s), disabled: !canWrite() }, 'Expire') : '')))))));
}

// ---- rules and on call ----

async function pageRules(view) {
  add(view, el('h1', {}, 'Rules'));
  const r = await api('GET', '/api/v1/rules');
  if (!r.ok) return needToken(view, r);
  const by = new Map();
  for (const x of r.data) { if (!by.has(x.owner)) by.set(x.owner, []); by.get(x.owner).push(x); }
  for (const [o, list] of by) {
    add(view, el('h2', {}, o, ' ', el('span', { class: 'count' }, list.length + ' rules')),
      el('div', { class: 'card' }, el('table', { class: 'stack rules' },
        el('thead', {}, el('tr', {}, ['rule', 'series', 'detector', 'action', 'state', 'defined at'].map((h) => el('th', {}, h)))),
        el('tbody', {}, list.map((x) => el('tr', {},
          el('td', { 'data-h': 'rule' }, el('strong', {}, x.name), x.summary ? el('div', { class: 'empty' }, x.summary) : null),
          el('td', { 'data-h': 'series', class: 'mono wrap' }, x.series),
          el('td', { 'data-h': 'detector' }, x.detector),
          el('td', { 'data-h': 'action' }, x.action),
          el('td', { 'data-h': 'state', class: x.valid ? 'state-active' : 'state-pending', title: 'every rule file passed the strict load' }, x.valid ? 'valid' : 'invalid'),
          el('td', { 'data-h': 'defined at', class: 'mono wrap' }, x.where)))))));
  }
}

async function pageOncall(view) {
  add(view, el('h1', {}, 'Who is on call'));
  const r = await api('GET', '/api/v1/owners');
  if (!r.ok) return needToken(view, r);
  for (const o of r.data) {
    add(view, el('section', { class: 'card oncall' },
      el('h2', {}, o.name),
      el('p', {}, 'destinations: ', (o.destinations || []).join(', ') || 'none'),
      o.oncall && o.oncall.length
        ? el('table', { class: 'stack' },
          el('thead', {}, el('tr', {}, ['schedule', 'on call now', 'until', 'next'].map((h) => el('th', {}, h)))),
          el('tbody', {}, o.oncall.map((s) => el('tr', {},
            el('td', { 'data-h': 'schedule' }, s.schedule),
            el('td', { 'data-h': 'on call now' }, el('strong', {}, s.now || 'nobody')),
            el('td', { 'data-h': 'until' }, fmtTime(s.until)),
            el('td', { 'data-h': 'next' }, s.next || '–')))))
        : el('p', { class: 'empty' }, 'No on-call schedule: alerts go to the owner\'s destinations.')));
  }
}

// ---- router ----

async function route() {
  const h = location.hash || '#/alerts';
  const [path, qs] = h.slice(1).split('?');
  const q = new URLSearchParams(qs || '');
  const parts = path.split('/').filter(Boolean);
  const page = parts[0] || 'alerts';
  for (const a of document.querySelectorAll('.nav a'))
    a.classList.toggle('active', a.dataset.page === (page === 'alert' ? 'alerts' : page));
  const view = document.getElementById('view');
  const fresh = el('div', { id: 'page-' + page });
  view.replaceChildren(fresh);
  if (page === 'alert' && parts[1]) await pageAlert(fresh, decodeURIComponent(parts[1]));
  else if (page === 'silences') await pageSilences(fresh);
  else if (page === 'rules') await pageRules(fresh);
  else if (page === 'oncall') await pageOncall(fresh);
  else await pageAlerts(fresh, q);
  fresh.dataset.loaded = '1';
}

// The alerts page keeps itself current while it is shown and nothing is
// being typed or chosen in it.
setInterval(() => {
  const p = document.getElementById('page-alerts');
  const busy = document.querySelector('dialog[open]') || (document.activeElement && document.activeElement.tagName === 'SELECT');
  if (p && p.dataset.loaded === '1' && !document.hidden && !busy) route();
}, REFRESH_MS);

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  setupToken();
  await loadSession();
  await route();
});
