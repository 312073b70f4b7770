// The prewarm dashboard: a small client of prewarm's JSON API, written as
// plain ES2020 so it ships as is, without a build step or dependencies.
//
// Rules this file keeps:
//   - API data reaches the page through textContent and attributes only,
//     never as markup, so a hostile URL or error message stays text.
//   - The API key lives in sessionStorage (this tab only) and travels in
//     the x-api-key header, never in a URL.
//   - Views are updated in place on every poll: elements are created once
//     and only their text, attributes and bar widths change, so nothing
//     flickers and focus, selection and scroll position survive.

const KEY_STORAGE = 'prewarm.apiKey';
const POLL_MS = 1500;
const IDLE_POLL_MS = 10000; // an ended job no longer changes
const MAX_BACKOFF_MS = 30000;
const SUMMARY_EVERY = 5; // polls between summary refreshes while a job runs
const FAILED_URLS_SHOWN = 8;
const FAILED_POPS_SHOWN = 24;
const NOT_CACHED_SHOWN = 8;
const NOT_KEPT_SHOWN = 20;
const WARNINGS_SHOWN = 6;

// A job's message names the step it is in while it expands its URL list or
// invalidates before warming; nothing is fetched until the step ends.
const STEP_MESSAGE = /^(expanding|invalidating)\b/i;

const STATUSES = ['CREATED', 'IN_PROGRESS', 'FINISHED', 'TIMEOUT', 'STOPPED', 'FAILED'];
const RUNNING = new Set(['CREATED', 'IN_PROGRESS']);
const STATUS_LABEL = {
  CREATED: 'Created',
  IN_PROGRESS: 'In progress',
  FINISHED: 'Finished',
  TIMEOUT: 'Timed out',
  STOPPED: 'Stopped',
  FAILED: 'Failed',
};
const TARGET_LABEL = { pop: 'By POP', country: 'By country', region: 'By region' };

// ---------------------------------------------------------------------------
// API access

class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // 0: no answer at all
    this.body = body;
  }

  get auth() {
    return this.status === 401 || this.status === 403;
  }

  // Server errors and gateway answers mean "try again later", as much as a
  // dropped connection does.
  get unreachable() {
    return this.status === 0 || this.status >= 500;
  }
}

// Session keeps the API key for this tab. sessionStorage can throw (storage
// disabled, quota); then the key lives only as long as the page.
class Session {
  constructor() {
    this.fallback = '';
  }

  key() {
    try {
      return sessionStorage.getItem(KEY_STORAGE) || '';
    } catch {
      return this.fallback;
    }
  }

  set(key) {
    this.fallback = key;
    try {
      sessionStorage.setItem(KEY_STORAGE, key);
    } catch {
      // fallback holds it
    }
  }

  clear() {
    this.fallback = '';
    try {
      sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      // nothing stored
    }
  }
}

// ServerClock tracks the offset between the API's clock and this browser's,
// so countdowns and "2 min ago" agree with the server's timestamps even on a
// laptop whose clock drifts.
class ServerClock {
  constructor() {
    this.skew = 0;
  }

  observe(stamp) {
    const t = parseTime(stamp);
    if (t) this.skew = t.getTime() - Date.now();
  }

  now() {
    return Date.now() + this.skew;
  }
}

class Api {
  constructor(session, clock) {
    this.session = session;
    this.clock = clock;
  }

  get(path, signal) {
    return this.request('GET', path, { signal });
  }

  post(path, body, signal) {
    return this.request('POST', path, { body, signal });
  }

  del(path, signal) {
    return this.request('DELETE', path, { signal });
  }

  async request(method, path, { body, signal, key } = {}) {
    const headers = { Accept: 'application/json' };
    const apiKey = key ?? this.session.key();
    if (apiKey) headers['x-api-key'] = apiKey;
    const init = { method, headers, signal, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    let text;
    try {
      res = await fetch(path, init);
      text = await res.text();
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new ApiError(0, 'The API did not answer.');
    }
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) throw new ApiError(res.status, errorText(res, data), data);
    if (data === null || typeof data !== 'object') {
      // A proxy's HTML page or an empty body: not the API we know.
      throw new ApiError(502, `The API answered ${res.status} without JSON.`, null);
    }
    const stamp = data.timestamp ?? data.jobs?.[0]?.timestamp;
    if (stamp) this.clock.observe(stamp);
    return data;
  }
}

function errorText(res, data) {
  if (data && typeof data === 'object') {
    if (data.message) return String(data.message);
    if (data.error_message) return String(data.error_message);
  }
  return `The API answered ${res.status} ${res.statusText || ''}`.trim() + '.';
}

// ---------------------------------------------------------------------------
// Formatting

// parseTime reads the API's timestamps: UTC, "2006-01-02 15:04:05.000000",
// no zone. Date would read them as local time, so the zone is added here.
function parseTime(s) {
  if (!s) return null;
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d{1,3})?\d*(Z|[+-]\d{2}:?\d{2})?$/.exec(String(s).trim());
  const d = m ? new Date(`${m[1]}T${m[2]}${m[3] || ''}${m[4] || 'Z'}`) : new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

const intFormat = new Intl.NumberFormat();
const rateFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });
const relFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const shortClockFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const dayClockFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

function fmtInt(n) {
  return intFormat.format(Number(n) || 0);
}

function fmtBytes(n) {
  n = Number(n) || 0;
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function fmtRelative(date, now) {
  if (!date) return '—';
  const sec = Math.round((date.getTime() - now) / 1000);
  const abs = Math.abs(sec);
  if (abs < 10) return 'just now';
  if (abs < 60) return relFormat.format(sec, 'second');
  if (abs < 3600) return relFormat.format(Math.round(sec / 60), 'minute');
  if (abs < 86400) return relFormat.format(Math.round(sec / 3600), 'hour');
  if (abs < 86400 * 30) return relFormat.format(Math.round(sec / 86400), 'day');
  return fullFormat.format(date);
}

// fmtClock is a time of day, with its date when that is not today.
function fmtClock(date) {
  const today = new Date().toDateString() === date.toDateString();
  return (today ? shortClockFormat : dayClockFormat).format(date);
}

function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x) => String(x).padStart(2, '0');
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m ${pad(s % 60)}s`;
  return `${s % 60}s`;
}

function fmtFull(date) {
  if (!date) return '';
  const utc = date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return `${fullFormat.format(date)} (${utc})`;
}

function plural(n, one, many) {
  return `${fmtInt(n)} ${n === 1 ? one : many}`;
}

function fraction(part, whole) {
  if (!whole || whole <= 0) return 0;
  return Math.min(1, Math.max(0, part / whole));
}

function fmtMinutes(min) {
  const m = Number(min) || 0;
  if (Number.isInteger(m) && m < 60) return `${m} min`;
  if (Number.isInteger(m / 60)) return `${m / 60} h`;
  return fmtDuration(m * 60000);
}

// verifies says whether a job proves its warms. Job pages carry the flag;
// list items do not, so there it is read from the counters: only a
// verifying job has verified or not-cached tasks.
function verifies(j) {
  if (typeof j.verify === 'boolean') return j.verify;
  return (Number(j.verified_count) || 0) + (Number(j.not_cached_count) || 0) > 0;
}

// split divides tasks that are done for a stacked bar: good (verified
// cached, or simply OK where the job does not verify), doubtful (fetched
// fine but not proven cached) and failed.
function split(ok, verified, failed, verifying) {
  ok = Number(ok) || 0;
  const good = verifying ? Math.min(Number(verified) || 0, ok) : ok;
  return { good, doubt: ok - good, failed: Number(failed) || 0 };
}

// setTier fills a POP's tier cell: the POP warmed before it, or, where the
// POPs go in tiers, a mark on those that go first. isTiered says whether
// they do, so a table shows its tier column only then.
function setTier(cell, pop) {
  const top = !pop.after && !pop.error && !pop.skipped;
  setText(cell, pop.after ? `after ${pop.after}` : top ? 'Top tier' : '—');
  setAttr(cell, 'data-tier', pop.after ? 'after' : top ? 'top' : null);
  setAttr(cell, 'title', pop.after ? `Each URL is fetched here once ${pop.after} has it`
    : top ? 'Fetched first: the POPs after it wait for it, so the origin is asked once here' : null);
}

function isTiered(pops) {
  return pops.some((p) => p.after);
}

// setAddresses shows a POP's first two addresses, and every one on hover.
function setAddresses(cell, addresses) {
  const addrs = addresses || [];
  setText(cell, addrs.length === 0 ? '—' : addrs.length <= 2 ? addrs.join(', ') : `${addrs.slice(0, 2).join(', ')} +${addrs.length - 2}`);
  setAttr(cell, 'title', addrs.length > 2 ? addrs.join('\n') : null);
}

// setURLs lists the first n URLs, each in full on hover, and says how many
// more there are.
function setURLs(list, more, urls, n, moreText) {
  list.replaceChildren(...urls.slice(0, n).map((u) => {
    const li = el('li', 'mono', u);
    li.title = u;
    return li;
  }));
  const left = urls.length - n;
  show(more, left > 0);
  setText(more, left > 0 ? `and ${fmtInt(left)} more${moreText ? ` — ${moreText}` : ''}.` : '');
}

function currentStep(j) {
  return RUNNING.has(j.status) && STEP_MESSAGE.test(j.message || '') ? j.message : '';
}

// ---------------------------------------------------------------------------
// DOM helpers. Everything that carries API data goes through setText or
// setAttr.

function $(id) {
  return document.getElementById(id);
}

function clone(templateId) {
  return $(templateId).content.firstElementChild.cloneNode(true);
}

function refs(root, attr = 'data-ref') {
  const out = {};
  for (const el of root.querySelectorAll(`[${attr}]`)) out[el.getAttribute(attr)] = el;
  return out;
}

function setText(el, text) {
  const s = text == null ? '' : String(text);
  if (el.textContent !== s) el.textContent = s;
}

function setAttr(el, name, value) {
  if (value == null || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
    return;
  }
  const s = value === true ? '' : String(value);
  if (el.getAttribute(name) !== s) el.setAttribute(name, s);
}

function show(el, visible) {
  if (el.hidden === visible) el.hidden = !visible;
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = String(text);
  return e;
}

// setBar sets the segment widths of a .bar: {ok, failed, running, data} as
// fractions. Widths go through CSSOM custom properties, which the CSP's
// style-src 'self' permits (inline style attributes it would not).
function setBar(bar, parts) {
  for (const [name, value] of Object.entries(parts)) {
    const seg = bar.querySelector(`.bar-${name}`);
    if (!seg) continue;
    const w = `${(value * 100).toFixed(2)}%`;
    if (seg.style.getPropertyValue('--w') !== w) seg.style.setProperty('--w', w);
  }
}

// statusLabel names a job's state. A job that finished with failed tasks
// says how many, so it does not pass for a clean one.
function statusLabel(j) {
  const label = STATUS_LABEL[j.status] || j.status || 'Unknown';
  return failedFinish(j) ? `${label} · ${fmtInt(j.failed_count)} failed` : label;
}

// jobTitle is what a job is called: its name where it has one, else the
// domain it warms.
function jobTitle(j) {
  return j.name || j.cf_domain || '';
}

function failedFinish(j) {
  return j.status === 'FINISHED' && j.failed_count > 0;
}

function setBadge(badge, j) {
  setText(badge, statusLabel(j));
  setAttr(badge, 'data-status', j.status || 'UNKNOWN');
  // Finished with failures is a tone of its own: done, but not all well.
  setAttr(badge, 'data-tone', failedFinish(j) ? 'failures' : null);
  setAttr(badge, 'title', failedFinish(j)
    ? `${j.status}: ${fmtInt(j.failed_count)} of ${fmtInt(j.total_count)} tasks failed` : j.status);
}

function setTime(timeEl, date, now, { prefix = '' } = {}) {
  setText(timeEl, date ? prefix + fmtRelative(date, now) : '—');
  setAttr(timeEl, 'datetime', date ? date.toISOString() : null);
  setAttr(timeEl, 'title', date ? fmtFull(date) : null);
}

// keyedRows keeps one <tr> per key in a tbody, in the order given, creating
// rows the first time a key is seen and dropping rows whose key is gone.
class KeyedRows {
  constructor(tbody, templateId) {
    this.tbody = tbody;
    this.templateId = templateId;
    this.rows = new Map();
  }

  update(items, keyOf, render) {
    const seen = new Set();
    let prev = null;
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      let row = this.rows.get(key);
      if (!row) {
        const tr = clone(this.templateId);
        row = { tr, f: refs(tr, 'data-f') };
        this.rows.set(key, row);
      }
      row.item = item;
      render(row, item);
      const want = prev ? prev.nextElementSibling : this.tbody.firstElementChild;
      if (row.tr !== want) this.tbody.insertBefore(row.tr, want);
      prev = row.tr;
    }
    for (const [key, row] of this.rows) {
      if (!seen.has(key)) {
        row.tr.remove();
        this.rows.delete(key);
      }
    }
  }

  // forEach calls fn with each row and the item it was last rendered for.
  forEach(fn) {
    for (const row of this.rows.values()) fn(row, row.item);
  }
}

// tableView is a polled view whose page is chiefly one table: load(signal)
// renders what else the page shows and resolves to the table's items;
// renderRow fills an item's row; clockRow, every second, brings a row's
// relative times up to date. The page's refs rows, loading and empty are the
// table's body, its loading line and its note for no items. It is never
// idle: a list can change at any time, from a script or a colleague.
function tableView(app, root, r, { title, nav, rowTemplate, keyOf, load, renderRow, clockRow = renderRow }) {
  const rows = new KeyedRows(r.rows, rowTemplate);
  return {
    root,
    title,
    nav,
    async refresh(signal) {
      const items = await load(signal);
      const now = app.clock.now();
      rows.update(items, keyOf, (row, item) => renderRow(row, item, now));
      show(r.loading, false);
      show(r.empty, items.length === 0);
    },
    clock(now) {
      rows.forEach((row, item) => clockRow(row, item, now));
    },
  };
}

// ---------------------------------------------------------------------------
// Routing

function parseHash(hash) {
  const raw = (hash || '').replace(/^#/, '');
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const query = new URLSearchParams(qs || '');
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'jobs')) return { name: 'jobs', query };
  if (parts.length === 2 && parts[0] === 'jobs') return { name: 'job', id: parts[1], query };
  if (parts.length === 1 && parts[0] === 'new') return { name: 'new', query };
  if (parts.length === 1 && parts[0] === 'fleet') return { name: 'fleet', query };
  if (parts.length === 1 && parts[0] === 'schedules') return { name: 'schedules', query };
  return { name: 'notfound', query };
}

// ---------------------------------------------------------------------------
// Views. Each returns {root, title, nav, focus?(), refresh?(signal),
// clock?(now)}. refresh resolves to {idle: true} when nothing is expected to
// change any more, so the poller slows down; clock runs every second for
// countdowns and relative times, without a request.

function signinView(app, message) {
  const root = clone('tpl-signin');
  const r = refs(root);
  if (message) {
    setText(r.error, message);
    show(r.error, true);
  }
  r.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = r.form.elements.key;
    const key = input.value.trim();
    if (!key) {
      setText(r.error, 'Enter an API key.');
      show(r.error, true);
      input.focus();
      return;
    }
    r.submit.disabled = true;
    setText(r.submit, 'Checking…');
    try {
      // One cheap authenticated call proves the key before it is kept.
      await app.api.request('GET', '/jobs?limit=1', { key });
      app.session.set(key);
      app.route();
    } catch (err) {
      let msg = err.message;
      if (err.auth) msg = `That key was not accepted: ${err.message}.`;
      else if (err.unreachable) msg = `Could not reach the API: ${err.message}`;
      setText(r.error, msg);
      show(r.error, true);
      input.select();
      input.focus();
    } finally {
      r.submit.disabled = false;
      setText(r.submit, 'Sign in');
    }
  });
  return {
    root,
    title: 'Sign in',
    nav: null,
    focus: () => root.querySelector('#signin-key').focus(),
  };
}

function jobsView(app, route) {
  const root = clone('tpl-jobs');
  const r = refs(root);
  const wanted = (route.query.get('status') || '').toUpperCase();
  const status = STATUSES.includes(wanted) ? wanted : '';

  for (const s of ['', ...STATUSES]) {
    const a = el('a', 'chip', s ? STATUS_LABEL[s] : 'All');
    a.href = s ? `#/jobs?status=${s}` : '#/jobs';
    if (s) a.dataset.status = s;
    if (s === status) a.setAttribute('aria-current', 'page');
    r.filters.append(a);
  }

  // A click anywhere on a row opens the job, for the mouse; the link in the
  // row stays the keyboard's and the screen reader's way in.
  r.rows.addEventListener('click', (ev) => {
    if (ev.target.closest('a, button') || String(window.getSelection() || '') !== '') return;
    const tr = ev.target.closest('tr[data-href]');
    if (tr) location.hash = tr.dataset.href;
  });

  function renderRow({ tr, f }, j, now) {
    const id = j.request_id;
    setAttr(tr, 'data-href', `#/jobs/${encodeURIComponent(id)}`);
    setAttr(tr, 'data-status', j.status);
    setBadge(f.status, j);
    setBadge(f['status-sm'], j); // in place of the status column on a narrow screen
    // A job's name, or else the domain, says what it warms; the id only
    // tells jobs apart, so a short prefix of it is enough here.
    const title = jobTitle(j);
    setText(f.link, title || id);
    setAttr(f.link, 'href', `#/jobs/${encodeURIComponent(id)}`);
    setAttr(f.link, 'title', [j.name, j.cf_domain, id].filter(Boolean).join('\n'));
    setText(f.id, title ? id.slice(0, 8) : '');
    setAttr(f.id, 'title', id);
    show(f.id, Boolean(title));
    setText(f.domain, j.name ? j.cf_domain : '');
    show(f.domain, Boolean(j.name && j.cf_domain));
    const scope = [];
    if (j.url_count) scope.push(plural(j.url_count, 'URL', 'URLs'));
    if (j.pop_count) scope.push(plural(j.pop_count, 'POP', 'POPs'));
    setText(f.scope, scope.join(' × '));
    show(f.scope, scope.length > 0);
    setText(f.message, capitalize(j.message || ''));
    setAttr(f.message, 'title', j.message || null);
    setAttr(f.message, 'data-step', Boolean(currentStep(j)));
    show(f.message, Boolean(j.message));
    const total = j.total_count;
    const parts = split(j.success_count, j.verified_count, j.failed_count, verifies(j));
    setBar(f.bar, {
      ok: fraction(parts.good, total),
      warn: fraction(parts.doubt, total),
      failed: fraction(parts.failed, total),
    });
    setText(f.pct, `${j.percentage_complete || 0}%`);
    setText(f.tasks, total ? `${fmtInt(j.download_count)} / ${fmtInt(total)}` : '—');
    setText(f.ok, fmtInt(j.success_count));
    setAttr(f.ok, 'title', verifies(j)
      ? `${fmtInt(j.verified_count)} verified cached · ${fmtInt(j.not_cached_count)} not cached` : null);
    setText(f.failed, fmtInt(j.failed_count));
    setAttr(f.failed, 'data-nonzero', j.failed_count > 0);
    setText(f.bytes, fmtBytes(j.download_size));
    setAttr(f.bytes, 'title', j.total_size ? `${fmtBytes(j.download_size)} of ${fmtBytes(j.total_size)} expected` : null);
    setTime(f.created, parseTime(j.created_at), now);
  }

  function renderFleet(inst) {
    if (!inst) {
      show(r.fleet, false);
      return;
    }
    const agents = inst.agents || [];
    const active = agents.filter((a) => a.state === 'active').length;
    let text = `${plural(active, 'agent', 'agents')} active · capacity ${fmtInt(inst.desiredcapacity)}`;
    if (agents.length === 0) text = 'No agents reporting';
    else if (inst.desiredcapacity === 0) text = 'Paused · capacity 0';
    setText(r['fleet-text'], text);
    setAttr(r['fleet-dot'], 'data-state', agents.length === 0 || inst.desiredcapacity === 0 ? 'warn' : 'ok');
    show(r.fleet, true);
  }

  return tableView(app, root, r, {
    title: status ? `${STATUS_LABEL[status]} jobs` : 'Jobs',
    nav: 'jobs',
    rowTemplate: 'tpl-job-row',
    keyOf: (j) => j.request_id,
    async load(signal) {
      const q = status ? `?status=${encodeURIComponent(status)}` : '';
      const [list, inst] = await Promise.all([
        app.api.get(`/jobs${q}`, signal),
        // The fleet pill is a nicety: its failure must not hide the jobs.
        app.api.get('/instances', signal).catch((err) => {
          if (err.auth || err.name === 'AbortError') throw err;
          return null;
        }),
      ]);
      const jobs = Array.isArray(list.jobs) ? list.jobs : [];
      if (jobs.length === 0) {
        setText(r['empty-title'], status ? `No ${STATUS_LABEL[status].toLowerCase()} jobs` : 'No jobs yet');
        setText(r['empty-text'], status
          ? 'Jobs in this state show up here. Pick another filter to see the rest.'
          : 'Start a job and its progress shows up here, POP by POP.');
        show(r['empty-action'], !status);
      }
      renderFleet(inst);
      return jobs;
    },
    renderRow,
    clockRow({ f }, j, now) {
      setTime(f.created, parseTime(j.created_at), now);
    },
  });
}

function variantsOf(job) {
  return Array.isArray(job.encodings) && job.encodings.length ? job.encodings.length : 1;
}

function usablePOP(pop) {
  return Boolean(pop.addresses && pop.addresses.length) && !pop.error && !pop.skipped;
}

// A size probe's error: "size probe through IAD89-P1: HTTP 404" (or, as
// jobs recorded before the server named the POP asked, "size probe: HTTP
// 404").
const PROBE_ERROR = /^size probe(?: through \S+)?:\s*/i;

// urlFailures is how many of each POP's failed tasks are their URLs'
// doing, not the POP's. A URL that fails its size probe (it answered 404
// before anything was warmed) is recorded as failed at every usable POP at
// once, so those failures are the same number everywhere: the smallest
// POP's count, once some POP's most recent error is such a probe's. Where
// every POP has failures of its own after them, this says 0, and each POP
// keeps its failures.
function urlFailures(pops) {
  const usable = pops.filter(usablePOP);
  if (!usable.some((p) => !p.unreachable && PROBE_ERROR.test(p.last_error || ''))) return 0;
  return Math.min(...usable.map((p) => Number(p.failed) || 0));
}

// popState says, for one POP, whether it is warm: the question a launch
// operator asks of this table. shared is the failed tasks every POP has
// because their URL failed (urlFailures): they are no fault of the POP's.
function popState(pop, job, shared = 0) {
  // Each URL is fetched once per encoding at every usable POP.
  const total = pop.addresses && pop.addresses.length ? (job.url_count || 0) * variantsOf(job) : 0;
  if (pop.skipped) return { key: 'skipped', label: 'Skipped', total, problem: false };
  if (pop.error) return { key: 'failed', label: 'Unusable', total, problem: true };
  if (pop.unreachable) return { key: 'failed', label: 'Unreachable', total, problem: true };
  if (pop.failed > shared) return { key: 'failed', label: RUNNING.has(job.status) ? 'Failing' : 'Failures', total, problem: true };
  // Tasks fetched fine but not cached leave the POP only partly warm: a
  // problem, though the POP still works.
  if (pop.not_cached > 0) {
    if (total > 0 && pop.done >= total) return { key: 'partial', label: 'Partly cached', total, problem: true };
    if (RUNNING.has(job.status)) return { key: 'running', label: 'Warming', total, problem: true };
    return { key: 'warn', label: 'Incomplete', total, problem: true };
  }
  if (total > 0 && pop.done >= total) return { key: 'ok', label: 'Warm', total, problem: false };
  if (RUNNING.has(job.status)) {
    return pop.done > 0
      ? { key: 'running', label: 'Warming', total, problem: false }
      : { key: 'idle', label: 'Waiting', total, problem: false };
  }
  return { key: 'warn', label: 'Incomplete', total, problem: true };
}

// urlFailureText is a POP's error cell where its failures are only its
// URLs': "63 URLs failed the size probe (HTTP 404), at every POP".
function urlFailureText(pop, job) {
  const urls = Math.max(1, Math.round(pop.failed / variantsOf(job)));
  const cause = String(pop.last_error).replace(PROBE_ERROR, '');
  return `${plural(urls, 'URL', 'URLs')} failed the size probe${cause ? ` (${cause})` : ''}, at every POP`;
}

// PopTally sums up a job's POPs in one line of what is true of them:
// "6 POPs · 220 of 600 tasks verified · 4 warm · 1 with tasks not cached".
// A POP counts in every line that holds for it.
class PopTally {
  constructor(job, verifying) {
    this.ended = !RUNNING.has(job.status);
    this.verifying = verifying;
    this.total = 0;
    this.good = 0;
    this.n = { warm: 0, notCached: 0, failing: 0, unreachable: 0, unusable: 0, unfinished: 0, skipped: 0 };
  }

  add(p, st) {
    const n = this.n;
    this.total += st.total;
    this.good += Number(this.verifying ? p.verified : p.ok) || 0;
    if (st.key === 'ok') n.warm++;
    if (p.not_cached > 0) n.notCached++;
    if (st.key === 'skipped') n.skipped++;
    else if (p.error) n.unusable++;
    else if (p.unreachable) n.unreachable++;
    else if (st.key === 'failed') n.failing++;
    if (this.ended && usablePOP(p) && !p.unreachable && p.done < st.total) n.unfinished++;
  }

  text(count) {
    const n = this.n;
    const parts = [plural(count, 'POP', 'POPs')];
    if (this.total) parts.push(`${fmtInt(this.good)} of ${fmtInt(this.total)} tasks ${this.verifying ? 'verified' : 'OK'}`);
    if (n.warm) parts.push(`${fmtInt(n.warm)} warm`);
    if (n.notCached) parts.push(`${fmtInt(n.notCached)} with tasks not cached`);
    if (n.failing) parts.push(`${fmtInt(n.failing)} with failed tasks`);
    if (n.unreachable) parts.push(`${fmtInt(n.unreachable)} unreachable`);
    if (n.unusable) parts.push(`${fmtInt(n.unusable)} unusable`);
    if (n.unfinished) parts.push(`${fmtInt(n.unfinished)} not finished`);
    if (n.skipped) parts.push(`${fmtInt(n.skipped)} skipped`);
    return parts.join(' · ');
  }
}

function jobView(app, route) {
  const id = route.id;
  const root = clone('tpl-job');
  const r = refs(root);
  const pops = new KeyedRows(r['pop-rows'], 'tpl-pop-row');
  const reasons = new KeyedRows(r.reasons, 'tpl-reason');
  let job = null;
  let summaryKey = '';
  let pollsSinceSummary = 0;
  let stopping = false;

  // The full id is in the header, with a copy button; the breadcrumb only
  // needs enough of it to tell jobs apart.
  setText(r.crumb, `Job ${id.slice(0, 8)}`);
  setAttr(r.crumb, 'title', id);

  // Recent (time, tasks done) samples, for a rate and a finish estimate.
  const samples = [];

  r.copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(id);
      app.toast('Job id copied');
    } catch {
      // No clipboard (plain http on another host): select it for ⌘C/Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(r.id);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
  });

  r.stop.addEventListener('click', async () => {
    if (stopping || !(await app.confirm())) return;
    stopping = true;
    r.stop.disabled = true;
    await app.act(() => app.api.post(`/jobs/${encodeURIComponent(id)}/stop`, {}),
      (res) => (res.message ? capitalize(res.message) : 'Job stopped'));
    stopping = false;
    r.stop.disabled = false;
  });

  const filterPops = () => renderPops();
  r['pop-filter'].addEventListener('input', filterPops);
  r['pop-problems'].addEventListener('change', filterPops);

  function renderPops() {
    if (!job) return;
    const list = job.pops || [];
    const needle = r['pop-filter'].value.trim().toLowerCase();
    const onlyProblems = r['pop-problems'].checked;
    let visible = 0;
    const verifying = verifies(job);
    const shared = urlFailures(list);
    const tally = new PopTally(job, verifying);
    pops.update(list, (p) => p.code, ({ tr, f }, p) => {
      const st = popState(p, job, shared);
      tally.add(p, st);
      // Failures that are only its URLs' say so, in place of an error of
      // the POP's.
      const urlsOnly = st.key !== 'failed' && p.failed > 0 && PROBE_ERROR.test(p.last_error || '');
      const error = p.error || (urlsOnly ? urlFailureText(p, job) : p.last_error) || '';
      const hay = `${p.code} ${p.after || ''} ${(p.addresses || []).join(' ')} ${error}`.toLowerCase();
      const match = (!needle || hay.includes(needle)) && (!onlyProblems || st.problem);
      show(tr, match);
      if (match) visible++;
      setAttr(tr, 'data-state', st.key);
      setAttr(tr, 'data-notcached', p.not_cached > 0);
      setText(f.code, p.code);
      setTier(f.tier, p);
      setText(f.state, st.label);
      setAttr(f.state, 'data-state', st.key);
      setAddresses(f.addrs, p.addresses);
      const parts = split(p.ok, p.verified, p.failed, verifying);
      setBar(f.bar, {
        ok: fraction(parts.good, st.total),
        warn: fraction(parts.doubt, st.total),
        failed: fraction(parts.failed, st.total),
      });
      setText(f.done, st.total ? `${fmtInt(p.done)}/${fmtInt(st.total)}` : '—');
      setText(f.ok, fmtInt(p.ok));
      setText(f.verified, verifying ? fmtInt(p.verified) : '—');
      setAttr(f.verified, 'title', verifying ? null : 'This job does not verify its warms');
      setText(f.notcached, verifying ? fmtInt(p.not_cached) : '—');
      setAttr(f.notcached, 'data-caution', p.not_cached > 0);
      setText(f.failed, fmtInt(p.failed));
      setAttr(f.failed, 'data-nonzero', p.failed > 0 && !urlsOnly);
      setAttr(f.failed, 'title', urlsOnly ? 'Their URLs failed the size probe, at every POP' : null);
      setText(f.bytes, fmtBytes(p.bytes));
      // A POP that could not be used says why; one whose fetches failed
      // shows the last error it gave.
      setText(f.error, error);
      // On a narrow screen the error column goes: the error is told
      // under the POP's code instead.
      setText(f['error-sm'], error);
      show(f['error-sm'], Boolean(error));
      setAttr(f['error-sm'], 'data-url', urlsOnly);
      setAttr(f.error, 'title', urlsOnly
        ? `These URLs answered an error to the size probe, before any warming, so their tasks fail at every POP: the URLs are at fault, not this POP. The Failures card lists them. The most recent: ${p.last_error}`
        : !p.error && p.last_error ? 'The error of the most recent failed task here' : null);
      setAttr(f.error, 'data-last', !p.error && Boolean(p.last_error) && !p.unreachable && !urlsOnly);
      setAttr(f.error, 'data-url', urlsOnly);
      // The failed-task CSV, or where the POP only has tasks that were not
      // cached, every task there: its reason column says why.
      const failedCSV = p.failed > 0 || Boolean(p.error);
      const csv = reportLink(job.report, failedCSV ? { pop: p.code } : { pop: p.code, tasks: 'all' });
      setAttr(f.csv, 'href', csv || null);
      setAttr(f.csv, 'download', `prewarm-${id}-${p.code}${failedCSV ? '' : '-all'}.csv`);
      setAttr(f.csv, 'title', failedCSV ? `Failed tasks at ${p.code} as CSV` : `Every task at ${p.code} as CSV, with why some were not cached`);
      show(f.csv, Boolean(csv) && (p.failed > 0 || p.not_cached > 0));
    });
    setAttr(r['pops-table'], 'data-tiered', isTiered(list));
    setText(r['pops-summary'], tally.text(list.length));
    const empty = list.length === 0 || visible === 0;
    show(r['pops-empty'], empty);
    if (empty) {
      setText(r['pops-empty'], list.length === 0
        ? (RUNNING.has(job.status) ? 'POPs appear once the job is planned.' : 'This job has no POPs.')
        : 'No POP matches the filter.');
    }
  }

  function renderSummary(sum) {
    const fpops = sum.failure_pops || [];
    const furls = sum.failure_urls || [];
    show(r['fpops-group'], fpops.length > 0);
    show(r['furls-group'], furls.length > 0);
    r.fpops.replaceChildren(...fpops.slice(0, FAILED_POPS_SHOWN).map((p) => el('li', 'chip chip-failed mono', p)));
    if (fpops.length > FAILED_POPS_SHOWN) r.fpops.append(el('li', 'chip chip-more', `and ${fmtInt(fpops.length - FAILED_POPS_SHOWN)} more`));
    setURLs(r.furls, r['furls-more'], furls, FAILED_URLS_SHOWN, 'download the CSV for every failed task');
    const none = fpops.length === 0 && furls.length === 0;
    show(r['no-failures'], none);
    setText(r['no-failures-text'], noFailuresText(job));
    // No failure in a job that ended early is no reason for a green tick.
    setAttr(r['no-failures'], 'data-partial', !RUNNING.has(job.status) && (job.total_count || 0) > (job.download_count || 0));
    const bits = [];
    if (fpops.length) bits.push(plural(fpops.length, 'POP', 'POPs'));
    if (furls.length) bits.push(plural(furls.length, 'URL', 'URLs'));
    setText(r['failures-summary'], bits.join(' · '));
    if (!job.report && sum.failure_pop_urls_report) setLinks(sum.failure_pop_urls_report);

    renderNotCached(sum);
    renderNotKept(sum);

    const warnings = Array.isArray(sum.warnings) ? sum.warnings.filter(Boolean) : [];
    show(r.warnings, warnings.length > 0);
    const wkey = warnings.join('\n');
    if (r['warnings-list'].dataset.key !== wkey) {
      r['warnings-list'].dataset.key = wkey;
      const shown = warnings.slice(0, WARNINGS_SHOWN).map((w) => el('li', '', capitalize(w)));
      if (warnings.length > WARNINGS_SHOWN) shown.push(el('li', 'more', `and ${fmtInt(warnings.length - WARNINGS_SHOWN)} more in the CSV's warning column`));
      r['warnings-list'].replaceChildren(...shown);
    }
  }

  // renderNotCached says why tasks were fetched but not cached, reason by
  // reason with a task as an example, and which URLs.
  function renderNotCached(sum) {
    const ncurls = Array.isArray(sum.not_cached_urls) ? sum.not_cached_urls : [];
    const why = Array.isArray(sum.not_cached_reasons) ? sum.not_cached_reasons.filter((x) => x && x.reason) : [];
    show(r.notcached, ncurls.length > 0 || why.length > 0);
    const head = [];
    if (ncurls.length) head.push(plural(ncurls.length, 'URL', 'URLs'));
    if (why.length) head.push(plural(why.length, 'reason', 'reasons'));
    setText(r['notcached-summary'], head.join(' · '));
    reasons.update(why, (x) => x.reason, ({ f }, x) => {
      setText(f.reason, capitalize(x.reason));
      setText(f.count, plural(x.count, 'task', 'tasks'));
      setText(f.url, x.example_url || '—');
      setText(f.pop, x.example_pop || '—');
      setAttr(f.url.parentElement, 'title', x.example_url ? `${x.example_url}\nat ${x.example_pop || '?'}` : null);
    });
    show(r['reasons-group'], why.length > 0);
    show(r['ncurls-group'], ncurls.length > 0);
    setURLs(r.ncurls, r['ncurls-more'], ncurls, NOT_CACHED_SHOWN, 'the all-tasks CSV lists every one, with its reason');
  }

  function setLinks(raw) {
    const report = reportLink(raw);
    setAttr(r.csv, 'href', report || null);
    setAttr(r.csv, 'download', `prewarm-${id}-failed.csv`);
    const all = reportLink(report, { tasks: 'all' });
    setAttr(r['csv-all'], 'href', all || null);
    setAttr(r['csv-all'], 'download', `prewarm-${id}-all.csv`);
    setAttr(r['notcached-csv'], 'href', all || null);
    setAttr(r['notcached-csv'], 'download', `prewarm-${id}-all.csv`);
    show(r['notcached-csv-text'], Boolean(all));
    show(r.csv, Boolean(report));
    show(r['csv-all'], Boolean(report));
  }

  // renderRequest echoes what the job was asked to do, in one quiet line:
  // "Timeout 45 min · Invalidate first · Encodings br, gzip · Max 3 in
  // flight · Verify on".
  let requestKey = null;
  function renderRequest(j) {
    const items = [];
    // A keep-warm job's timeout is its first warm's; the keeping ends at
    // keep_warm.until.
    if (j.timeout) items.push([j.keep_warm ? 'First warm timeout' : 'Timeout', fmtMinutes(j.timeout)]);
    const headers = Array.isArray(j.header) ? j.header.filter(Boolean) : [];
    if (headers.length) items.push(['Headers', headers.map((h) => h.split(':')[0].trim()).join(', '), headers.join('\n')]);
    if (j.need_invalidate) {
      items.push([j.invalidated ? 'Invalidated first' : 'Invalidate first', '',
        j.invalidated ? 'The URLs were cleared from the caches before warming' : 'The URLs are cleared from the caches before warming']);
    }
    const encodings = Array.isArray(j.encodings) ? j.encodings : [];
    if (encodings.length) items.push(['Encodings', encodings.join(', ')]);
    const expand = Array.isArray(j.expand) ? j.expand : [];
    if (expand.length) items.push(['Expand', expand.join(', ')]);
    if (j.max_concurrency > 0) {
      items.push(['Max', `${fmtInt(j.max_concurrency)} in flight`, "At most this many of the job's fetches at once, across every agent"]);
    }
    if (j.max_rps > 0) items.push(['Max', `${rateFormat.format(j.max_rps)}/s`, 'At most this many fetches started per second, across every agent']);
    if (j.tier_first === false) items.push(['Tier first', 'off', 'Every POP is warmed at once, without waiting for a top tier']);
    if (j.priority && j.priority !== 'normal') {
      items.push(['Priority', j.priority, j.priority === 'high'
        ? 'Its batches are taken before those of other jobs'
        : 'Its batches are taken only when no other job waits']);
    }
    if (j.sharing > 0 && RUNNING.has(j.status)) {
      items.push(['Sharing the agents with', `${fmtInt(j.sharing)} other job${j.sharing === 1 ? '' : 's'}`]);
      if (j.share) items.push(['Share', j.share, 'Its part of the agents: running keys share them alike, and a key\'s jobs share its part']);
    }
    if (typeof j.verify === 'boolean') items.push(['Verify', j.verify ? 'on' : 'off']);
    const key = JSON.stringify(items);
    if (key === requestKey) return;
    requestKey = key;
    // Each item carries the dot after it, so a wrapped line ends with one
    // rather than starting with one.
    const nodes = [];
    items.forEach(([label, value, title], i) => {
      const item = el('span', 'req');
      item.append(el('span', 'req-k', label));
      if (value) item.append(' ', el('span', 'req-v', value));
      if (i < items.length - 1) item.append(' ', el('span', 'sep', '·'));
      if (title) item.title = title;
      if (nodes.length) nodes.push(' ');
      nodes.push(item);
    });
    r.request.replaceChildren(...nodes);
    show(r.request, nodes.length > 0);
  }

  // renderStep shows the step a job is in before it fetches anything, with
  // where that step sits among the job's steps.
  let trailKey = null;
  function renderStep(j) {
    const message = currentStep(j);
    show(r.step, Boolean(message));
    if (!message) return false;
    setText(r['step-text'], capitalize(message));
    const current = /^expanding/i.test(message) ? 'expand' : 'invalidate';
    const steps = [];
    if ((Array.isArray(j.expand) && j.expand.length) || current === 'expand') steps.push(['expand', 'Expand']);
    if (j.need_invalidate || current === 'invalidate') steps.push(['invalidate', 'Invalidate']);
    steps.push(['warm', 'Warm']);
    const at = steps.findIndex(([k]) => k === current);
    setText(r['step-label'], `Step ${at + 1} of ${steps.length} · nothing is fetched until it ends`);
    const key = `${current}|${steps.map(([k]) => k).join(',')}`;
    if (key !== trailKey) {
      trailKey = key;
      r['step-trail'].replaceChildren(...steps.map(([k, label], i) => {
        const li = el('li', '', label);
        li.dataset.state = i < at ? 'done' : i === at ? 'current' : 'todo';
        if (i === at) li.setAttribute('aria-current', 'step');
        return li;
      }));
    }
    return true;
  }

  function renderJob(now) {
    const j = job;
    const running = RUNNING.has(j.status);
    setText(r.title, jobTitle(j) || `Job ${id.slice(0, 8)}`);
    setText(r.domain, j.name ? j.cf_domain : '');
    show(r.domain, Boolean(j.name && j.cf_domain));
    setBadge(r.status, j);
    setText(r.id, j.request_id || id);
    const popCount = j.pop_count || (j.pops || []).length;
    const tgt = [];
    if (j.target_type) tgt.push(TARGET_LABEL[j.target_type] || j.target_type);
    tgt.push(plural(popCount, 'POP', 'POPs'));
    tgt.push(plural(j.url_count || 0, 'URL', 'URLs'));
    setText(r.targets, tgt.join(' · '));
    setTime(r.created, parseTime(j.created_at), now);
    renderRequest(j);

    show(r.stop, running);
    setLinks(j.report || '');

    const inStep = renderStep(j);
    show(r.message, Boolean(j.message) && !inStep);
    setText(r.message, capitalize(j.message || ''));
    setAttr(r.message, 'data-tone', j.status === 'FAILED' || j.status === 'TIMEOUT' ? 'error' : j.status === 'STOPPED' ? 'warn' : 'info');
    // A budget the fetches wait for (the job's own, or a host's limit or
    // pause) explains a slow job better than its rate does.
    const waiting = running ? j.waiting || '' : '';
    show(r.waiting, Boolean(waiting));
    setText(r['waiting-text'], waiting ? waiting.charAt(0).toUpperCase() + waiting.slice(1) : '');

    renderKeepWarm(j, now);

    const total = j.total_count || 0;
    const verifying = verifies(j);
    const parts = split(j.success_count, j.verified_count, j.failed_count, verifying);
    setText(r.pct, String(j.percentage_complete || 0));
    setAttr(r.bar, 'aria-valuenow', j.percentage_complete || 0);
    setAttr(r.bar, 'data-status', j.status);
    setBar(r.bar, {
      ok: fraction(parts.good, total),
      warn: fraction(parts.doubt, total),
      failed: fraction(parts.failed, total),
      running: fraction(j.in_progress_task_count, total),
    });
    setText(r['lg-ok'], verifying ? 'Verified cached' : 'OK (not verified)');
    show(r['lg-warn-item'], verifying);
    show(r['lg-running-item'], running);
    trackRate(j);
    const rate = rateText(j);
    setText(r.rate, rate);
    show(r.rate, Boolean(rate));
    let line = `${fmtInt(j.download_count)} of ${fmtInt(total)} tasks done`;
    if (inStep) line = /^expanding/i.test(j.message) ? 'Reading the listed documents before warming' : 'Waiting for the caches to clear before warming';
    else if (running && !j.planned) line += ' · still planning, more may come';
    setText(r['done-line'], line);
    setText(r['s-total'], fmtInt(total));
    setText(r['s-done'], fmtInt(j.download_count));
    setText(r['s-ok'], fmtInt(j.success_count));
    // Where the job does not verify, OK is the green part of the bar.
    setAttr(r['s-ok-box'], 'class', verifying ? 'stat' : 'stat stat-ok');
    setText(r['s-verified'], verifying ? fmtInt(j.verified_count) : '—');
    setText(r['s-notcached'], verifying ? fmtInt(j.not_cached_count) : '—');
    setAttr(r['s-notcached'], 'data-caution', verifying && j.not_cached_count > 0);
    for (const box of [r['s-verified-box'], r['s-notcached-box']]) {
      setAttr(box, 'title', verifying ? null : 'This job does not verify its warms');
      setAttr(box, 'data-off', !verifying);
    }
    setText(r['s-failed'], fmtInt(j.failed_count));
    setAttr(r['s-failed'], 'data-nonzero', j.failed_count > 0);
    setText(r['s-running'], fmtInt(j.in_progress_task_count));
    setText(r['s-available'], fmtInt(j.available_task_count));

    setText(r['bytes-done'], fmtBytes(j.download_size));
    setText(r['bytes-of'], j.total_size ? `of ${fmtBytes(j.total_size)} expected`
      : running ? 'expected size not known yet' : 'no expected size');
    setBar(r['bytes-bar'], { data: fraction(j.download_size, j.total_size) });

    renderClock(now);
    renderPops();
    app.setTitle(`${running ? `${j.percentage_complete || 0}%` : statusLabel(j)} · ${jobTitle(j) || id}`);
  }

  function trackRate(j) {
    const t = Date.now();
    samples.push({ t, done: j.download_count });
    // A minute of history: long enough to smooth batches arriving in
    // bursts, short enough to follow a change of pace.
    while (samples.length > 2 && t - samples[0].t > 60000) samples.shift();
  }

  function rateText(j) {
    if (!RUNNING.has(j.status) || samples.length < 2) return '';
    const first = samples[0];
    const last = samples[samples.length - 1];
    const secs = (last.t - first.t) / 1000;
    const rate = (last.done - first.done) / secs;
    if (secs < 3 || !(rate > 0)) return '';
    const perSec = rate < 10 ? rate.toFixed(1) : fmtInt(Math.round(rate));
    const left = ((j.total_count || 0) - (j.download_count || 0)) / rate;
    return `${perSec} tasks/s · about ${fmtDuration(left * 1000)} left at this pace`;
  }

  // A keep-warm job re-warms its objects as they expire, until its time:
  // when the next re-warm is due and how the keeping goes.
  function renderKeepWarm(j, now) {
    const kw = j.keep_warm;
    show(r.keepwarm, Boolean(kw));
    if (!kw) return;
    const until = parseTime(kw.until);
    const label = { warming: 'First warm, then keeping warm', keeping: 'Keeping warm', ended: 'Kept warm' }[kw.state] || 'Keeping warm';
    setText(r['keepwarm-label'], until ? `${label} until ${fmtFull(until)}` : label);
    const next = parseTime(kw.next_rewarm);
    let text = '';
    if (kw.state === 'keeping') {
      if (kw.queued > 0) text = `${plural(kw.queued, 're-warm', 're-warms')} running now`;
      else if (next) text = next.getTime() > now ? `Next re-warm in ${fmtDuration(next.getTime() - now)}` : 'Next re-warm due now';
      else text = idleKeepText(kw);
      text += kw.refresh_header ? ` · before expiry, with ${kw.refresh_header}` : ' · just after expiry';
    } else if (kw.state === 'warming') {
      text = 'Re-warms start once each object is warm.';
    }
    setText(r['keepwarm-text'], text);
    const counts = [`${fmtInt(kw.kept)} kept`, plural(kw.rewarms, 're-warm', 're-warms') + ' done'];
    if (kw.failed) counts.push(`${fmtInt(kw.failed)} failed`);
    if (kw.fresh_to_end) counts.push(`${fmtInt(kw.fresh_to_end)} fresh to the end`);
    if (kw.not_kept) counts.push(`${fmtInt(kw.not_kept)} cannot be kept (see below)`);
    setText(r['keepwarm-counts'], counts.join(' · '));
  }

  // idleKeepText says why no re-warm is due, from the counts: objects kept
  // but none due yet, fresh past the end, or that cannot be kept.
  function idleKeepText(kw) {
    if (kw.kept > 0) return 'No re-warm due yet';
    if (kw.not_kept > 0 && kw.fresh_to_end > 0) {
      return `Nothing left to re-warm: ${fmtInt(kw.fresh_to_end)} stay fresh past the end, ${fmtInt(kw.not_kept)} cannot be kept`;
    }
    if (kw.not_kept > 0) return 'Nothing to re-warm: no object can be kept (see below)';
    if (kw.fresh_to_end > 0) return 'Nothing left to re-warm: every object stays fresh past the end';
    return 'Nothing to re-warm';
  }

  // renderNotKept lists the URLs a keep-warm job cannot keep warm: each
  // once, with why and at how many POPs.
  function renderNotKept(sum) {
    const list = Array.isArray(sum.not_kept_urls) ? sum.not_kept_urls.filter((x) => x && x.url) : [];
    show(r.notkept, list.length > 0);
    setText(r['notkept-summary'], list.length ? plural(list.length, 'URL', 'URLs') : '');
    const key = list.map((x) => `${x.url}\n${x.reason}\n${x.pops}`).join('\n');
    if (r['notkept-list'].dataset.key === key) return;
    r['notkept-list'].dataset.key = key;
    r['notkept-list'].replaceChildren(...list.slice(0, NOT_KEPT_SHOWN).map((x) => {
      const li = el('li', 'reason');
      const url = el('span', 'reason-text mono', x.url);
      url.title = x.url;
      li.append(url, el('span', 'reason-count', `at ${plural(x.pops || 0, 'POP', 'POPs')}`), el('span', 'reason-example', capitalize(x.reason || '')));
      return li;
    }));
    show(r['notkept-more'], list.length > NOT_KEPT_SHOWN);
    setText(r['notkept-more'], list.length > NOT_KEPT_SHOWN ? `and ${fmtInt(list.length - NOT_KEPT_SHOWN)} more: prewarm summary lists them all` : '');
  }

  function renderClock(now) {
    if (!job) return;
    if (job.keep_warm && RUNNING.has(job.status)) renderKeepWarm(job, now);
    const until = job.keep_warm && job.keep_warm.state === 'keeping' ? parseTime(job.keep_warm.until) : null;
    if (RUNNING.has(job.status) && until) {
      // The first warm is done: the job now ends when the keeping does.
      const left = until.getTime() - now;
      setText(r.clock, `Kept warm until ${fmtClock(until)}${left > 0 ? ` (in ${fmtDuration(left)})` : ''}`);
      setAttr(r.clock, 'title', `Kept warm until ${fmtFull(until)}`);
    } else if (RUNNING.has(job.status)) {
      const at = parseTime(job.timeout_at);
      if (at) {
        const left = at.getTime() - now;
        const what = job.keep_warm ? 'First warm times out' : 'Times out';
        setText(r.clock, left > 0 ? `${what} in ${fmtDuration(left)}` : 'Timing out…');
        setAttr(r.clock, 'title', `Timeout at ${fmtFull(at)}`);
      } else {
        setText(r.clock, '');
      }
    } else {
      const ended = parseTime(job.last_update_time);
      setText(r.clock, ended ? `Ended ${fmtRelative(ended, now)}` : 'Ended');
      setAttr(r.clock, 'title', ended ? fmtFull(ended) : null);
    }
  }

  return {
    root,
    title: `Job ${id}`,
    nav: 'jobs',
    async refresh(signal) {
      let next;
      try {
        next = await app.api.get(`/jobs/${encodeURIComponent(id)}`, signal);
      } catch (err) {
        if (err.status === 404) {
          show(r.loading, false);
          show(r.body, false);
          show(r.missing, true);
          setText(r['missing-text'], `${capitalize(err.message)}. It may have been removed, or the link is wrong.`);
          return { idle: true };
        }
        throw err;
      }
      job = next;
      show(r.loading, false);
      show(r.missing, false);
      show(r.body, true);
      renderJob(app.clock.now());
      // The summary is a heavier query; ask again only when its answer can
      // have changed, and now and then while the job runs.
      const key = `${job.status}|${job.failed_count}|${job.not_cached_count}|${job.planned}`;
      pollsSinceSummary++;
      if (key !== summaryKey || (RUNNING.has(job.status) && pollsSinceSummary >= SUMMARY_EVERY)) {
        try {
          renderSummary(await app.api.get(`/summary?req_id=${encodeURIComponent(id)}`, signal));
          summaryKey = key;
          pollsSinceSummary = 0;
        } catch (err) {
          if (err.auth || err.unreachable || err.name === 'AbortError') throw err;
          // Any other answer: keep the last summary and try next time.
        }
      }
      return { idle: !RUNNING.has(job.status) && summaryKey === key };
    },
    clock: renderClock,
  };
}

// ENDED_EARLY says how a job that ended before its last task ended.
const ENDED_EARLY = { STOPPED: 'was stopped', TIMEOUT: 'timed out', FAILED: 'failed' };

// noFailuresText is the failures card's line when it lists nothing. It
// claims that every task succeeded only when every task was done.
function noFailuresText(j) {
  if (RUNNING.has(j.status)) return 'No failures so far.';
  if (j.failed_count > 0) return 'Failed tasks are listed POP by POP below and in the CSV.';
  const done = Number(j.download_count) || 0;
  const left = Math.max(0, (Number(j.total_count) || 0) - done);
  if (left === 0 && (done > 0 || j.status === 'FINISHED')) return 'No failures. Every task succeeded.';
  const how = ENDED_EARLY[j.status] || 'ended';
  if (done === 0) return `No task was done: the job ${how} first.`;
  return `No failures among the ${plural(done, 'task', 'tasks')} done; the job ${how} with ${fmtInt(left)} not done.`;
}

// reportLink is the signed report URL with extra query parameters. Only
// http(s) links are used, so an odd value can never become a javascript:
// link in the page.
function reportLink(report, params = {}) {
  if (!report) return '';
  try {
    const u = new URL(report, location.href);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return '';
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.href;
  } catch {
    return '';
  }
}

// capitalize starts a sentence from the API with a capital, unless its
// first word is a name written as is: a host ("www.example.test answered
// 429: paused 2s") or a URL.
function capitalize(s) {
  s = String(s || '');
  if (/^[^\s]*[./:]\S/.test(s)) return s;
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function authMessage(err) {
  return err.status === 401
    ? `Sign in with an API key (${err.message}).`
    : `Your API key was not accepted (${err.message}). Sign in again.`;
}

// optionalNumber reads a number field that may be left empty: undefined
// when it is, NaN when it holds what the browser cannot read as a number.
function optionalNumber(input) {
  if (input.validity.badInput) return NaN;
  const v = input.value.trim();
  return v === '' ? undefined : Number(v);
}

// MAX_KEEP_WARM is how far ahead a job may keep warm: a week, as the API.
const MAX_KEEP_WARM = 7 * 24 * 3600 * 1000;

// goDuration is a Go duration ("90m", "1h30m", "2.5h") in milliseconds,
// or NaN.
function goDuration(s) {
  if (!/^(\d+(\.\d+)?(h|m|s|ms))+$/.test(s)) return NaN;
  const unit = { h: 3600000, m: 60000, s: 1000, ms: 1 };
  let ms = 0;
  for (const [, n, , u] of s.matchAll(/(\d+(\.\d+)?)(ms|h|m|s)/g)) ms += Number(n) * unit[u];
  return ms;
}

// keepWarmField reads the Keep warm field — a duration from the start or
// an RFC 3339 time — as {field} for the request, or {error} in the API's
// words.
function keepWarmField(v, now) {
  if (/^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const t = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v) ? Date.parse(v) : NaN;
    if (!Number.isFinite(t)) return { error: `“${v}” is not an RFC 3339 time (2026-11-28T20:00:00Z).` };
    if (t <= now) return { error: `${v} is not in the future.` };
    if (t - now > MAX_KEEP_WARM) return { error: `${v} is more than 168h ahead; use a schedule for longer.` };
    return { field: { keep_warm_until: v } };
  }
  const ms = goDuration(v);
  if (Number.isNaN(ms)) return { error: `“${v}” is neither a duration (90m, 2h, 48h) nor an RFC 3339 time (2026-11-28T20:00:00Z).` };
  if (ms <= 0) return { error: `${v} is not a positive duration.` };
  if (ms > MAX_KEEP_WARM) return { error: `${v} is more than 168h; use a schedule for longer.` };
  return { field: { keep_warm_for: v } };
}

// splitList reads "a, b c" and "a,b\nc" alike.
function splitList(s) {
  return String(s || '').split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
}

function newJobView(app) {
  const root = clone('tpl-new');
  const r = refs(root);
  const form = r.form;
  const fields = form.elements;

  function targetType() {
    return form.querySelector('input[name="target_type"]:checked').value;
  }

  function syncTarget() {
    const t = targetType();
    for (const box of form.querySelectorAll('[data-target]')) show(box, box.dataset.target === t);
  }

  function syncInvalidate() {
    show(r.dist, fields.need_invalidate.checked);
  }

  function urls() {
    return String(fields.urls.value).split(/\s+/).map((u) => u.trim()).filter(Boolean);
  }

  function syncCount() {
    const n = urls().length;
    setText(r['url-count'], n === 0 ? 'No URLs yet.' : `${plural(n, 'URL', 'URLs')}.`);
  }

  function showError(message, badUrls = []) {
    setText(r['error-text'], message);
    r['error-urls'].replaceChildren(...badUrls.slice(0, 20).map((u) => el('li', 'mono', u)));
    show(r['error-urls'], badUrls.length > 0);
    show(r['error-more'], badUrls.length > 20);
    setText(r['error-more'], badUrls.length > 20 ? `and ${fmtInt(badUrls.length - 20)} more` : '');
    show(r.error, true);
    r.error.focus();
  }

  function fieldError(input, message) {
    setAttr(input, 'aria-invalid', 'true');
    showError(message);
    input.focus();
    return null;
  }

  // A plan shown below the form says what the form asked when it was run;
  // once the form changes, it says so.
  function planStale() {
    if (r.plan.hidden) return;
    setAttr(r.plan, 'data-stale', true);
    show(r['plan-stale'], true);
  }

  form.addEventListener('change', (ev) => {
    planStale();
    if (ev.target.name === 'target_type') syncTarget();
    if (ev.target === fields.need_invalidate) {
      syncInvalidate();
      if (fields.need_invalidate.checked) fields.distribution_id.focus();
    }
  });
  form.addEventListener('input', (ev) => {
    setAttr(ev.target, 'aria-invalid', null);
    if (ev.target === fields.urls) syncCount();
    planStale();
  });

  // requestBody is POST /prewarm's body as the form says, or null after
  // pointing at the field at fault.
  function requestBody() {
    show(r.error, false);
    const list = urls();
    if (list.length === 0) return fieldError(fields.urls, 'Add at least one URL, one per line.');
    // cf_domain is for CloudFront POPs only: left empty, the server says
    // if a POP of the job needs it.
    const domain = fields.cf_domain.value.trim();
    const body = { url_list: list, target_type: targetType() };
    if (domain) body.cf_domain = domain;
    const listField = { pop: 'pops', country: 'countries', region: 'regions' }[body.target_type];
    body[listField] = splitList(fields[listField].value);
    const timeout = optionalNumber(fields.timeout);
    if (timeout !== undefined) {
      if (!Number.isFinite(timeout) || timeout <= 0) return fieldError(fields.timeout, 'The timeout is a number of minutes greater than 0.');
      body.timeout = timeout;
    }
    const headers = String(fields.headers.value).split('\n').map((x) => x.trim()).filter(Boolean);
    const badHeader = headers.find((x) => !/^[^:\s]+:/.test(x));
    if (badHeader) return fieldError(fields.headers, `“${badHeader}” is not a header: write Name: value.`);
    if (headers.length) body.header = headers;
    // The options go out only when set, so the server's defaults apply
    // otherwise: verify is on unless turned off here.
    if (fields.need_invalidate.checked) {
      body.need_invalidate = true;
      const dist = fields.distribution_id.value.trim().toUpperCase();
      if (dist) {
        if (!/^[A-Z0-9]{8,32}$/.test(dist)) return fieldError(fields.distribution_id, `“${dist}” is not a CloudFront distribution id (such as E2QWRUHAPOMQZL).`);
        body.distribution_id = dist;
      }
    }
    if (!fields.verify.checked) body.verify = false;
    const encodings = splitList(fields.encodings.value).map((e) => e.toLowerCase());
    const badEncoding = encodings.find((e) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(e));
    if (badEncoding) return fieldError(fields.encodings, `“${badEncoding}” is not a content coding (such as br, gzip or identity).`);
    if (encodings.length) body.encodings = [...new Set(encodings)];
    const expand = [...form.querySelectorAll('input[name="expand"]:checked')].map((x) => x.value);
    if (expand.length) body.expand = expand;
    // The job's own budget, across the fleet; empty is no bound.
    const concurrency = optionalNumber(fields.max_concurrency);
    if (concurrency !== undefined) {
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 100000) {
        return fieldError(fields.max_concurrency, 'Max in flight is a whole number of fetches from 1 to 100,000; leave it empty for no limit.');
      }
      body.max_concurrency = concurrency;
    }
    const rps = optionalNumber(fields.max_rps);
    if (rps !== undefined) {
      if (!(rps > 0) || rps > 1000000) {
        return fieldError(fields.max_rps, 'Max rate is a number of fetches per second, greater than 0 and up to 1,000,000; leave it empty for no limit.');
      }
      body.max_rps = rps;
    }
    if (!fields.tier_first.checked) body.tier_first = false;
    const name = fields.job_name.value.trim();
    if (name) {
      // The server counts bytes, as UTF-8.
      const bytes = new TextEncoder().encode(name).length;
      if (bytes > 200) return fieldError(fields.job_name, `The name is ${fmtInt(bytes)} bytes long; the limit is 200.`);
      if (/[\u0000-\u001f\u007f]/.test(name)) return fieldError(fields.job_name, 'The name is one line of printable text.');
      body.name = name;
    }
    const priority = form.querySelector('input[name="priority"]:checked').value;
    if (priority !== 'normal') body.priority = priority;
    return keepWarmAndVantage(body);
  }

  // keepWarmAndVantage adds keep-warm, discover and vantage to body, or
  // points at the field at fault (with the API's own words) and is null.
  function keepWarmAndVantage(body) {
    const keep = fields.keep_warm.value.trim();
    if (keep) {
      const k = keepWarmField(keep, Date.now());
      if (k.error) return fieldError(fields.keep_warm, k.error);
      Object.assign(body, k.field);
    }
    const refresh = fields.refresh_header.value.trim();
    if (refresh) {
      if (!keep) return fieldError(fields.refresh_header, 'The refresh header applies to re-warms: set Keep warm too.');
      if (!/^[^:\s]+:\s*\S/.test(refresh)) return fieldError(fields.refresh_header, `“${refresh}” is not a header: write Name: value.`);
      body.refresh_header = refresh;
    }
    const discover = fields.discover.value;
    if (discover === 'ecs' && body.target_type === 'pop') {
      return fieldError(fields.discover, '“ecs” finds edges by country: give countries or regions as the targets.');
    }
    if (discover) body.discover = discover;
    if (fields.vantage.value) body.vantage = fields.vantage.value;
    return body;
  }

  // send posts the form's body, one request at a time, and shows what
  // the API refused where the operator can fix it.
  let sending = false;
  async function send(button, busyText, extra, done) {
    if (sending) return;
    const body = requestBody();
    if (!body) return;
    sending = true;
    const idle = button.textContent;
    r.submit.disabled = true;
    r['dry-run'].disabled = true;
    setAttr(form, 'aria-busy', 'true');
    setText(button, busyText);
    try {
      await done(await app.api.post('/prewarm', { ...body, ...extra }));
    } catch (err) {
      if (err.auth) return app.signOut(authMessage(err));
      const data = err.body || {};
      if (Array.isArray(data.error_urls) && data.error_urls.length) {
        setAttr(fields.urls, 'aria-invalid', 'true');
        showError(`${data.error_message || 'Invalid URLs'}: fix or remove ${data.error_urls.length === 1 ? 'this URL' : `these ${fmtInt(data.error_urls.length)} URLs`}.`, data.error_urls);
      } else if (err.unreachable) {
        showError(`${extra.dry_run ? 'The dry run did not finish' : 'The job was not started'}: ${err.message}`);
      } else {
        showError(err.message);
        // "encodings[1]: …" names the field at fault: mark it.
        const input = fieldOf(fields, err.message);
        if (input) setAttr(input, 'aria-invalid', 'true');
      }
    } finally {
      sending = false;
      r.submit.disabled = false;
      r['dry-run'].disabled = false;
      setAttr(form, 'aria-busy', null);
      setText(button, idle);
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    send(r.submit, 'Starting…', {}, (res) => {
      app.toast('Job started');
      location.hash = `#/jobs/${encodeURIComponent(res.request_id)}`;
    });
  });

  r['dry-run'].addEventListener('click', () => {
    send(r['dry-run'], 'Planning…', { dry_run: true }, (plan) => {
      renderPlan(plan);
      r['plan-title'].focus({ preventScroll: true });
      r.plan.scrollIntoView({ block: 'start' });
    });
  });

  // renderPlan shows a dry run's answer: what the job would cost, its
  // POPs in tiers, and what would fail.
  const planRows = new KeyedRows(r['plan-rows'], 'tpl-plan-pop-row');
  function renderPlan(d) {
    const pops = Array.isArray(d.pops) ? d.pops : [];
    const usable = pops.filter((p) => !p.error && !p.skipped).length;
    setText(r['plan-summary'], `${plural(pops.length, 'POP', 'POPs')} · nothing was started or sent through a POP`);
    setText(r['p-urls'], fmtInt(d.url_count));
    setText(r['p-pops'], usable === pops.length ? fmtInt(usable) : `${fmtInt(usable)} of ${fmtInt(pops.length)}`);
    setText(r['p-tasks'], fmtInt(d.total_count));
    setText(r['p-bytes'], fmtBytes(d.estimated_edge_bytes ?? d.total_size));
    setText(r['p-origin'], fmtInt(d.estimated_origin_fetches));
    const notes = Array.isArray(d.notes) ? d.notes.filter(Boolean) : [];
    r['plan-notes'].replaceChildren(...notes.map((n) => el('li', '', capitalize(n))));
    show(r['plan-notes-box'], notes.length > 0);
    const failed = Array.isArray(d.failed_urls) ? d.failed_urls : [];
    setURLs(r['plan-failed'], r['plan-failed-more'], failed, FAILED_URLS_SHOWN, '');
    show(r['plan-failed-group'], failed.length > 0);
    planRows.update(pops, (p) => p.code, ({ tr, f }, p) => {
      setAttr(tr, 'data-state', p.skipped ? 'skipped' : p.error ? 'failed' : null);
      setText(f.code, p.code);
      setTier(f.tier, p);
      setAddresses(f.addrs, p.addresses);
      setText(f.error, p.skipped ? 'Skipped: does not resolve' : p.error || '');
    });
    setAttr(r['plan-table'], 'data-tiered', isTiered(pops));
    show(r['plan-empty'], pops.length === 0);
    setAttr(r.plan, 'data-stale', null);
    show(r['plan-stale'], false);
    show(r.plan, true);
  }

  syncTarget();
  syncInvalidate();
  syncCount();
  return { root, title: 'New job', nav: 'new', focus: () => fields.urls.focus() };
}

// fieldOf finds the form field an API error names ("timeout: must be…").
function fieldOf(fields, message) {
  const m = /^([a-z_]+)(?:\[\d+\])?:/.exec(String(message || ''));
  if (!m) return null;
  const name = { url_list: 'urls', header: 'headers', name: 'job_name', keep_warm_until: 'keep_warm', keep_warm_for: 'keep_warm' }[m[1]] || m[1];
  const input = fields[name];
  return input && input.nodeType === 1 && input.type !== 'checkbox' ? input : null;
}

function fleetView(app) {
  const root = clone('tpl-fleet');
  const r = refs(root);
  let serverCapacity = null;
  let dirty = false; // the operator is editing: polls must not overwrite

  const input = r.capacity;
  const clamp = (n) => Math.min(300, Math.max(0, Math.round(n)));
  function nudge(d) {
    const cur = input.value === '' ? serverCapacity || 0 : Number(input.value);
    input.value = String(clamp((Number.isFinite(cur) ? cur : 0) + d));
    dirty = String(input.value) !== String(serverCapacity);
    syncHint();
  }
  r.dec.addEventListener('click', () => nudge(-1));
  r.inc.addEventListener('click', () => nudge(1));
  input.addEventListener('input', () => {
    dirty = true;
    syncHint();
  });

  function syncHint() {
    const pending = dirty && input.value !== '' && Number(input.value) !== serverCapacity;
    setText(r['capacity-hint'], pending ? `Now ${fmtInt(serverCapacity)}. Apply to change.` : '0–300 agents; 0 pauses warming.');
    setAttr(r['capacity-hint'], 'data-pending', pending);
  }

  r['capacity-form'].addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = Number(input.value);
    if (input.value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 300) {
      setAttr(input, 'aria-invalid', 'true');
      setText(r['capacity-hint'], 'A whole number from 0 to 300.');
      input.focus();
      return;
    }
    setAttr(input, 'aria-invalid', null);
    r.apply.disabled = true;
    await app.act(async () => {
      const res = await app.api.post('/instances', { DesiredCapacity: n });
      serverCapacity = n;
      dirty = false;
      return res;
    }, (res) => (res.message ? capitalize(res.message) : `Desired capacity set to ${n}`));
    r.apply.disabled = false;
    syncHint();
  });

  // render shows the fleet's figures and resolves to its agents.
  function render(inst) {
    const agents = Array.isArray(inst.agents) ? inst.agents : [];
    serverCapacity = inst.desiredcapacity;
    if (!dirty && document.activeElement !== input) input.value = String(serverCapacity ?? '');
    syncHint();
    const active = agents.filter((a) => a.state === 'active').length;
    const busy = agents.reduce((s, a) => s + (a.busy || 0), 0);
    const slots = agents.reduce((s, a) => s + (a.concurrency || 0), 0);
    setText(r.active, fmtInt(active));
    setText(r['agents-of'], ` of ${fmtInt(agents.length)}`);
    setBar(r['active-bar'], { ok: fraction(active, agents.length) });
    setText(r.busy, fmtInt(busy));
    setText(r['busy-of'], ` of ${fmtInt(slots)}`);
    setBar(r['busy-bar'], { running: fraction(busy, slots) });
    setText(r['agents-summary'], agents.length ? `${plural(agents.length, 'agent', 'agents')} reporting` : '');
    return agents;
  }

  return tableView(app, root, r, {
    title: 'Fleet',
    nav: 'fleet',
    rowTemplate: 'tpl-agent-row',
    keyOf: (a) => a.id,
    load: async (signal) => render(await app.api.get('/instances', signal)),
    renderRow({ f }, a, now) {
      setText(f.name, a.name || a.id);
      setText(f.id, a.name && a.name !== a.id ? a.id : '');
      setText(f.host, a.host || '—');
      setText(f.state, a.state === 'active' ? 'Active' : 'Standby');
      setAttr(f.state, 'data-state', a.state === 'active' ? 'ok' : 'idle');
      setBar(f.bar, { running: fraction(a.busy, a.concurrency) });
      setText(f.busy, `${fmtInt(a.busy)}/${fmtInt(a.concurrency)}`);
      setTime(f.heartbeat, parseTime(a.last_heartbeat), now);
    },
    clockRow({ f }, a, now) {
      setTime(f.heartbeat, parseTime(a.last_heartbeat), now);
    },
  });
}

function schedulesView(app) {
  const root = clone('tpl-schedules');
  const r = refs(root);
  return tableView(app, root, r, {
    title: 'Schedules',
    nav: 'schedules',
    rowTemplate: 'tpl-schedule-row',
    keyOf: (s) => s.id,
    async load(signal) {
      const res = await app.api.get('/schedules', signal);
      return Array.isArray(res.schedules) ? res.schedules : [];
    },
    // Every second too: next and last runs are relative times.
    renderRow({ f }, s, now) {
      const name = s.name || `Schedule ${s.id.slice(0, 8)}`;
      setText(f.name, name);
      setText(f.cron, `${s.cron} · ${s.timezone}`);
      setText(f.state, s.paused ? 'Paused' : 'Active');
      setAttr(f.state, 'data-state', s.paused ? 'idle' : 'ok');
      const next = parseTime(s.next_run);
      if (next) setTime(f.next, next, now);
      else setText(f.next, '—');
      const last = parseTime(s.last_run);
      if (last) setTime(f.last, last, now);
      else setText(f.last, 'never');
      setText(f['last-job'], s.last_job ? s.last_job.slice(0, 8) : '');
      setAttr(f['last-job'], 'href', s.last_job ? `#/jobs/${encodeURIComponent(s.last_job)}` : null);
      setText(f['last-error'], s.last_error || '');
      setText(f.runs, fmtInt(s.runs || 0));
      setText(f.toggle, s.paused ? 'Resume' : 'Pause');
      setAttr(f.toggle, 'aria-label', `${s.paused ? 'Resume' : 'Pause'} ${name}`);
      setAttr(f.delete, 'aria-label', `Delete ${name}`);
      f.toggle.onclick = () => app.act(() => app.api.post(`/schedules/${encodeURIComponent(s.id)}/${s.paused ? 'resume' : 'pause'}`, {}),
        s.paused ? `${name} resumed` : `${name} paused`);
      f.delete.onclick = async () => {
        if (!(await app.confirm({ title: `Delete ${name}?`, text: 'It starts no more runs. The jobs it started stay.', ok: 'Delete schedule' }))) return;
        app.act(() => app.api.del(`/schedules/${encodeURIComponent(s.id)}`), `${name} deleted`);
      };
    },
  });
}

function notFoundView() {
  return { root: clone('tpl-notfound'), title: 'Not found', nav: null };
}

// ---------------------------------------------------------------------------
// Polling: one poller per mounted view. It never overlaps requests, pauses
// while the tab is hidden, and backs off while the API is unreachable.

class Poller {
  constructor(app, view) {
    this.app = app;
    this.view = view;
    this.controller = new AbortController();
    this.timer = 0;
    this.running = false;
    this.again = false;
    this.stopped = false;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller.abort();
  }

  now() {
    clearTimeout(this.timer);
    if (this.running) {
      this.again = true;
      return;
    }
    this.run();
  }

  async run() {
    if (this.stopped || !this.view.refresh) return;
    if (document.hidden) {
      this.app.setLive('paused');
      return; // visibilitychange calls now() again
    }
    this.running = true;
    let delay;
    try {
      const res = await this.view.refresh(this.controller.signal);
      if (this.stopped) return;
      delay = this.app.pollSucceeded(res || {});
    } catch (err) {
      if (this.stopped || err.name === 'AbortError') return;
      delay = this.app.pollFailed(err);
      if (delay == null) return;
    } finally {
      this.running = false;
    }
    if (this.again) {
      this.again = false;
      delay = 0;
    }
    this.timer = setTimeout(() => this.run(), delay);
  }
}

// ---------------------------------------------------------------------------
// The app: routing, session, the live indicator, the banner, toasts.

class App {
  constructor() {
    this.session = new Session();
    this.clock = new ServerClock();
    this.api = new Api(this.session, this.clock);
    this.main = $('main');
    this.view = null;
    this.poller = null;
    this.failures = 0;
    this.retryAt = 0;
    this.lastUpdate = null;
    this.signinMessage = '';
    this.firstRoute = true;
  }

  start() {
    window.addEventListener('hashchange', () => this.route());
    document.addEventListener('visibilitychange', () => {
      if (!this.poller) return;
      if (document.hidden) this.setLive('paused');
      else this.poller.now();
    });
    $('signout').addEventListener('click', () => this.signOut('You are signed out.'));
    $('banner-retry').addEventListener('click', () => this.refreshNow());
    document.querySelector('[data-skip]').addEventListener('click', (ev) => {
      ev.preventDefault(); // the hash belongs to the router
      this.main.focus();
    });
    setInterval(() => this.tick(), 1000);
    this.route();
  }

  route() {
    const route = parseHash(location.hash);
    let view;
    if (!this.session.key()) {
      view = signinView(this, this.signinMessage);
      this.signinMessage = '';
    } else if (route.name === 'jobs') view = jobsView(this, route);
    else if (route.name === 'job') view = jobView(this, route);
    else if (route.name === 'new') view = newJobView(this);
    else if (route.name === 'fleet') view = fleetView(this);
    else if (route.name === 'schedules') view = schedulesView(this);
    else view = notFoundView();
    this.mount(view);
  }

  mount(view) {
    if (this.poller) this.poller.stop();
    this.poller = null;
    this.view = view;
    const signedIn = Boolean(this.session.key());
    document.body.classList.toggle('signed-out', !signedIn);
    document.body.classList.toggle('signed-in', signedIn);
    for (const a of document.querySelectorAll('[data-nav]')) {
      setAttr(a, 'aria-current', a.dataset.nav === view.nav ? 'page' : null);
    }
    this.main.replaceChildren(view.root);
    this.setTitle(view.title);
    // Move focus to the new view for keyboard and screen reader users; on
    // the first load only where typing is the obvious next step.
    if (view.focus) view.focus();
    else if (!this.firstRoute) {
      const h1 = view.root.querySelector('h1');
      (h1 && !h1.closest('[hidden]') ? h1 : this.main).focus({ preventScroll: true });
    }
    if (!this.firstRoute) window.scrollTo(0, 0);
    this.firstRoute = false;
    if (view.refresh) {
      this.setLive('connecting');
      this.poller = new Poller(this, view);
      this.poller.now();
    } else {
      this.setLive(null);
    }
  }

  refreshNow() {
    if (this.poller) this.poller.now();
  }

  // act runs an operator's action, call, and toasts what it did (done, or
  // done of call's result) or why it failed, signing out where the key was
  // refused; either way the view is polled again at once.
  async act(call, done) {
    try {
      const res = await call();
      this.toast(typeof done === 'function' ? done(res) : done);
    } catch (err) {
      if (err.auth) return this.signOut(authMessage(err));
      this.toast(err.message, 'error');
    } finally {
      this.refreshNow();
    }
  }

  setTitle(text) {
    const t = text ? `${text} — prewarm` : 'prewarm';
    if (document.title !== t) document.title = t;
  }

  pollSucceeded(res) {
    this.failures = 0;
    this.lastUpdate = new Date();
    show($('banner'), false);
    this.setLive(res.idle ? 'idle' : 'live');
    return res.idle ? IDLE_POLL_MS : POLL_MS;
  }

  pollFailed(err) {
    if (err.auth) {
      this.signOut(authMessage(err));
      return null;
    }
    this.failures++;
    const delay = Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** this.failures);
    this.retryAt = Date.now() + delay;
    this.bannerError = err.status === 0 ? err.message : `${err.message}${err.status ? ` (HTTP ${err.status})` : ''}`;
    setText($('banner-title'), err.unreachable ? 'API unreachable.' : 'The API refused the request.');
    this.renderBanner();
    show($('banner'), true);
    this.setLive('error');
    return delay;
  }

  renderBanner() {
    const secs = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
    setText($('banner-text'), `${this.bannerError} ${secs > 0 ? `Retrying in ${secs} s.` : 'Retrying…'}`);
  }

  setLive(state) {
    const live = $('live');
    show(live, state != null);
    if (state == null) return;
    setAttr(live, 'data-state', state);
    const label = {
      connecting: 'Connecting',
      live: 'Live',
      idle: 'Up to date',
      paused: 'Paused',
      error: 'Reconnecting',
    }[state];
    setText($('live-label'), label);
    this.renderLiveTime();
  }

  renderLiveTime() {
    const t = $('live-time');
    if (!this.lastUpdate) {
      setText(t, '');
      return;
    }
    setText(t, `updated ${clockFormat.format(this.lastUpdate)}`);
    setAttr(t, 'datetime', this.lastUpdate.toISOString());
    setAttr($('live'), 'title', `Last updated ${fmtFull(this.lastUpdate)}. Updates pause while this tab is hidden.`);
  }

  tick() {
    if (this.view && this.view.clock) this.view.clock(this.clock.now());
    if (!$('banner').hidden) this.renderBanner();
  }

  signOut(message) {
    this.session.clear();
    this.signinMessage = message || '';
    this.lastUpdate = null;
    this.failures = 0;
    show($('banner'), false);
    this.route();
  }

  toast(text, kind = 'info') {
    const t = el('div', 'toast', text);
    t.dataset.kind = kind;
    $('toasts').append(t);
    setTimeout(() => t.classList.add('toast-out'), 3500);
    setTimeout(() => t.remove(), 4000);
  }

  // confirm asks with the page's own dialog rather than window.confirm,
  // which blocks the page (and its polling) and cannot be styled.
  // confirm asks before an action that cannot be undone; the dialog's
  // own words (stopping a job) stand where none are given.
  confirm({ title, text, ok } = {}) {
    const dialog = $('confirm-dialog');
    const parts = [$('confirm-title'), $('confirm-text'), $('confirm-ok')];
    if (!this.confirmDefaults) this.confirmDefaults = parts.map((p) => p.textContent);
    [title, text, ok].forEach((v, i) => setText(parts[i], v ?? this.confirmDefaults[i]));
    return new Promise((resolve) => {
      dialog.returnValue = '';
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
      dialog.showModal();
    });
  }
}

new App().start();
