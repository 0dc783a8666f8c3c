// vitrine operator console: a dependency-free single-page app. It talks to
// the server with the session cookie set at login; every request that
// changes state carries the session's CSRF token in X-CSRF-Token.

const app = document.getElementById('app');
const session = { csrf: '', name: '', scope: '' };
let timer = null; // the current page's polling timer
let page = 0; // bumped on every navigation, so stale async work stops

// ---------- small helpers ----------

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    // The page's CSP forbids style attributes; the CSSOM is allowed.
    else if (k === 'style') e.style.cssText = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids.flat()) if (k) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

// fill replaces el's children, skipping null and false (replaceChildren
// would print them).
function fill(el, ...kids) {
  el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
  return el;
}

function fmtTime(sec) {
  if (!(sec >= 0)) return '–';
  const m = Math.floor(sec / 60);
  const r = sec - m * 60;
  return `${m}:${r < 10 ? '0' : ''}${r.toFixed(1)}`;
}

// fmtDur formats seconds; with started, zero means "under a millisecond"
// rather than unknown.
function fmtDur(sec, started) {
  if (sec === 0 && started) return '<1 ms';
  if (!(sec > 0)) return '–';
  if (sec < 1) return `${Math.round(sec * 1000)} ms`;
  if (sec < 120) return `${sec.toFixed(1)} s`;
  return `${Math.floor(sec / 60)} min ${Math.round(sec % 60)} s`;
}

function fmtBytes(n) {
  if (!(n > 0)) return '–';
  const u = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

function fmtWhen(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (d.toDateString() === new Date().toDateString()) return d.toLocaleTimeString();
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

function badge(state, label) {
  return h('span', { class: `badge state-${state}`, text: label || state });
}

function progressBar(done, total, label) {
  const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
  return h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(pct), 'aria-label': label || 'progress' },
    h('div', { class: 'bar', style: `width:${pct}%` }));
}

function toast(msg, bad) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = bad ? 'show bad' : 'show';
  clearTimeout(toast.t);
  toast.t = setTimeout(() => { t.className = ''; }, 5000);
}

class APIError extends Error {
  constructor(status, code, msg) { super(msg); this.status = status; this.code = code; }
}

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD') opts.headers['X-CSRF-Token'] = session.csrf;
  if (body instanceof Blob || body instanceof FormData) opts.body = body;
  else if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const ct = r.headers.get('Content-Type') || '';
  const data = r.status === 204 ? null : ct.includes('json') ? await r.json() : await r.text();
  if (!r.ok) {
    const e = data && data.error ? data.error : { code: String(r.status), message: `${r.status} ${r.statusText}` };
    if (r.status === 401 && path !== '/console/api/login') showLogin();
    throw new APIError(r.status, e.code, e.message);
  }
  return data;
}

// upload sends a file as the raw request body and reports progress.
function upload(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', url);
    x.setRequestHeader('X-CSRF-Token', session.csrf);
    x.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); };
    x.onload = () => {
      let data = null;
      try { data = JSON.parse(x.responseText); } catch { /* not JSON */ }
      if (x.status >= 200 && x.status < 300) resolve(data);
      else reject(new APIError(x.status, data && data.error ? data.error.code : '', data && data.error ? data.error.message : `upload failed: ${x.status}`));
    };
    x.onerror = () => reject(new APIError(0, 'network', 'upload failed: network error'));
    x.send(file);
  });
}

// poll runs fn now and then every ms (a number or a function returning
// one) while the page stays; a 404 stops it with a message on the page.
function poll(fn, ms) {
  const my = page;
  const tick = async () => {
    if (my !== page) return;
    try {
      await fn();
    } catch (e) {
      if (e instanceof APIError && e.status === 404) {
        if (my === page) setPage('Not found', h('h1', { text: 'Not found' }), h('p', { class: 'error', text: e.message }), h('p', {}, h('a', { href: '#/', text: 'Back to the dashboard' })));
        return;
      }
      if (!(e instanceof APIError && e.status === 401)) console.warn(e);
    }
    if (my === page) timer = setTimeout(tick, typeof ms === 'function' ? ms() : ms);
  };
  tick();
}

function setPage(title, ...kids) {
  document.title = `${title} · vitrine console`;
  fill(app, ...kids);
}

function canIngest() { return session.scope === 'ingest' || session.scope === 'admin'; }

// ---------- login ----------

function showLogin() {
  page++;
  clearTimeout(timer);
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  const tpl = document.getElementById('login-tpl').content.cloneNode(true);
  setPage('Sign in', tpl);
  const form = document.getElementById('login-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = document.getElementById('login-key').value.trim();
    try {
      const ss = await api('POST', '/console/api/login', { key });
      setSession(ss);
      route();
    } catch (e) {
      document.getElementById('login-error').textContent = e.message;
    }
  });
  document.getElementById('login-key').focus();
}

function setSession(ss) {
  session.csrf = ss.csrf;
  session.name = ss.key_name;
  session.scope = ss.scope;
  document.getElementById('nav').hidden = false;
  document.getElementById('who').hidden = false;
  document.getElementById('who-name').textContent = `${ss.key_name || 'key ' + ss.key_id} · ${ss.scope}`;
}

document.getElementById('logout').addEventListener('click', async () => {
  try { await api('POST', '/console/api/logout'); } catch (e) { toast(e.message, true); }
  session.csrf = '';
  showLogin();
});

// ---------- dashboard ----------

const stateRank = { failed: 0, cancelled: 1, retrying: 2, running: 3, pending: 4, processing: 3, queued: 4, succeeded: 5, ready: 5 };

function wfState(w) { return w ? w.state : 'pending'; }

function uploadCard(id, title, accept, help, go) {
  const input = h('input', { type: 'file', id: `${id}-file`, accept });
  const bar = progressBar(0, 1, `${title} progress`);
  bar.id = `${id}-progress`;
  const status = h('p', { class: 'muted small', id: `${id}-status` });
  const btn = h('button', { type: 'button', id: `${id}-upload`, onclick: async () => {
    const f = input.files[0];
    if (!f) { status.textContent = 'Choose a file first.'; return; }
    btn.disabled = true;
    status.textContent = `Uploading ${f.name}…`;
    try {
      const res = await go(f, (done, total) => {
        bar.querySelector('.bar').style.width = `${(100 * done) / total}%`;
        bar.setAttribute('aria-valuenow', Math.round((100 * done) / total));
        status.textContent = `Uploading ${f.name}: ${fmtBytes(done)} of ${fmtBytes(total)}`;
      });
      status.textContent = `Uploaded ${f.name}.`;
      return res;
    } catch (e) {
      status.textContent = e.message;
      status.className = 'error small';
    } finally {
      btn.disabled = false;
    }
  } }, 'Upload');
  return h('section', { class: 'card upload', id: `${id}-card` }, h('h2', { text: title }), h('p', { class: 'muted small', text: help }), input, btn, bar, status);
}

function dashboard() {
  const videos = h('tbody', { id: 'videos' });
  const batches = h('tbody', { id: 'batches' });
  const others = h('tbody', { id: 'others' });
  const uploads = canIngest() ? h('div', { class: 'grid2' },
    uploadCard('video', 'Upload a video', 'video/*,.mp4,.mov,.webm,.mkv,.m4v', 'MP4, MOV, WebM or MKV. Analysis starts when the upload ends.',
      async (f, p) => {
        const v = await upload(`/v1/videos?name=${encodeURIComponent(f.name)}`, f, p);
        if (v && v.workflow_id) location.hash = `#/workflow/${v.workflow_id}`;
        return v;
      }),
    uploadCard('catalog', 'Import a catalog', '.csv,.jsonl,.ndjson,.tsv,.txt,.xml,.json,.jsonld,.zip',
      'A CSV or JSONL file of product rows (or a Shopify or Merchant Center feed). Images given as http(s) URLs are fetched; images given as file paths need a ZIP that holds the catalog file and its images.',
      async (f, p) => {
        const up = await upload(`/console/api/catalog/uploads?name=${encodeURIComponent(f.name)}`, f, p);
        const card = document.getElementById('catalog-card');
        const old = document.getElementById('catalog-mapping');
        if (old) old.remove();
        card.append(mappingPanel(up));
        return up;
      })) : null;
  setPage('Dashboard',
    h('h1', { text: 'Dashboard' }),
    uploads,
    h('section', { class: 'card' }, h('h2', { text: 'Videos' }),
      h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ['Video', 'State', 'Step', 'Progress', 'Duration', 'Analysis took', 'Analysis speed', 'Added'].map((t) => h('th', { text: t })))), videos)),
    h('section', { class: 'card' }, h('h2', { text: 'Catalog batches' }),
      h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ['Batch', 'State', 'Step', 'Progress', 'Products', 'Took', 'Speed', 'Started'].map((t) => h('th', { text: t })))), batches)),
    h('section', { class: 'card' }, h('h2', { text: 'Other workflows' }),
      h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ['Workflow', 'State', 'Step', 'Took', 'Started'].map((t) => h('th', { text: t })))), others)));

  const empty = (tb, n, msg) => { if (!tb.children.length) tb.append(h('tr', {}, h('td', { colspan: n, class: 'muted', text: msg }))); };
  poll(async () => {
    const o = await api('GET', '/console/api/overview');
    const vs = o.videos.slice().sort((a, b) => (stateRank[wfState(a.workflow)] - stateRank[wfState(b.workflow)]) || (a.created_at < b.created_at ? 1 : -1));
    fill(videos, ...vs.map((v) => {
      const w = v.workflow;
      const name = (v.source || v.id).split('/').pop();
      return h('tr', { class: `wfrow state-${wfState(w)}`, 'data-video': v.id },
        h('td', {}, v.state === 'ready' ? h('a', { href: `#/video/${v.id}`, text: name }) : name, h('div', { class: 'muted small', text: v.id }),
          v.problem ? h('div', { class: 'error small clamp problem', title: v.problem.detail, text: v.problem.summary }) : null),
        h('td', {}, badge(wfState(w)), w && w.kind !== 'video' ? h('div', { class: 'muted small', text: w.kind }) : null),
        h('td', {}, w ? h('a', { href: `#/workflow/${w.id}`, text: `${w.step || '–'} (${w.steps_done}/${w.steps_total})` }) : '–'),
        h('td', {}, w ? progressBar(w.steps_done + (w.progress_total ? w.progress_done / w.progress_total : 0), w.steps_total, `${name} progress`) : ''),
        h('td', { text: fmtDur(v.duration_s) }),
        // The analysis's time (what Speed is measured on); a later
        // re-match or republish after review is listed under it.
        h('td', { class: 'took' }, h('span', { class: 'analysis-took', text: w ? fmtDur((v.analysis || w).elapsed_s, true) : '–' }),
          v.analysis ? h('div', { class: 'muted small later', text: `then ${w.kind.replace(/^video\./, '')}: ${fmtDur(w.elapsed_s, true)}` }) : null),
        h('td', { text: v.speed_x ? `${v.speed_x.toFixed(1)}× real time` : '–' }),
        h('td', { text: fmtWhen(v.created_at) }));
    }));
    empty(videos, 8, 'No videos yet.');
    const byState = (a, b) => (stateRank[a.state] - stateRank[b.state]) || (a.id < b.id ? 1 : -1);
    fill(batches, ...o.batches.slice().sort(byState).map((w) => h('tr', { class: `wfrow state-${batchState(w)}`, 'data-batch': w.batch ? w.batch.batch : '' },
      h('td', {}, h('a', { href: `#/workflow/${w.id}`, text: w.batch && w.batch.source ? w.batch.source.split('/').pop() : w.subject }), h('div', { class: 'muted small', text: w.subject })),
      h('td', {}, badge(batchState(w)), w.problem ? h('div', { class: 'error small clamp', title: w.problem.detail, text: w.problem.summary }) : null),
      h('td', { text: `${w.step || '–'} (${w.steps_done}/${w.steps_total})` }),
      h('td', {}, progressBar(w.steps_done + (w.progress_total ? w.progress_done / w.progress_total : 0), w.steps_total), w.progress_total ? h('div', { class: 'muted small', text: `${w.progress_done}/${w.progress_total}` }) : null),
      h('td', {}, w.batch ? [`${w.batch.total}`, batchCounts(w.batch), batchReasons(w.batch)] : '–'),
      h('td', { text: fmtDur(w.elapsed_s, true) }),
      h('td', { text: w.products_per_s ? `${w.products_per_s.toFixed(1)} products/s` : '–' }),
      h('td', { text: fmtWhen(w.created_at) }))));
    empty(batches, 8, 'No catalog imports yet.');
    fill(others, ...o.workflows.slice().sort(byState).map((w) => h('tr', { class: `wfrow state-${w.state}` },
      h('td', {}, h('a', { href: `#/workflow/${w.id}`, text: `${w.kind} ${w.subject}` })),
      h('td', {}, badge(w.state)),
      h('td', { text: `${w.step || '–'} (${w.steps_done}/${w.steps_total})` }),
      h('td', { text: fmtDur(w.elapsed_s) }),
      h('td', { text: fmtWhen(w.created_at) }))));
    empty(others, 5, 'None.');
  }, 2000);
}

// FIELD_LABELS name the product fields a merchant maps columns to.
const FIELD_LABELS = { id: 'Product id', title: 'Title (the name shoppers see)', url: 'Product page / buy link', price: 'Price', currency: 'Currency',
  image: 'Image', category: 'Category', brand: 'Brand', colour: 'Colour' };

// mappingPanel shows an uploaded catalog: what its images need, its
// columns mapped to product fields (remembered per file name), a few rows,
// and the button that starts the import.
function mappingPanel(up) {
  const selects = {};
  const im = up.images || {};
  const imageLine = im.rows ? [im.urls ? `${im.urls} image URL${im.urls === 1 ? '' : 's'}` : null, im.blobs ? `${im.blobs} uploaded image${im.blobs === 1 ? '' : 's'}` : null,
    im.paths ? `${im.found} of ${im.paths} image file${im.paths === 1 ? '' : 's'} found${up.zip_files ? ' in the ZIP' : ''}` : null].filter(Boolean).join(' · ') : '';
  const status = h('p', { class: 'small', id: 'catalog-start-status' });
  const start = h('button', { type: 'button', id: 'catalog-start', onclick: async () => {
    start.disabled = true;
    const mapping = {};
    for (const [f, sel] of Object.entries(selects)) if (sel.value) mapping[f] = sel.value;
    try {
      const r = await api('POST', `/console/api/catalog/uploads/${encodeURIComponent(up.upload)}/import`, up.mappable ? { mapping } : {});
      location.hash = `#/workflow/${r.workflow_id}`;
    } catch (e) {
      status.textContent = e.message;
      status.className = 'error small';
      start.disabled = false;
    }
  } }, 'Import');
  return h('section', { class: 'mapping', id: 'catalog-mapping', 'data-upload': up.upload },
    h('h3', {}, `${up.file}`, up.zip_files ? h('span', { class: 'muted small', text: ` from a ZIP of ${up.zip_files} files` }) : null,
      up.remembered ? [' ', h('span', { class: 'badge state-succeeded', id: 'mapping-remembered', text: 'mapping remembered' })] : null),
    up.needs ? h('p', { class: 'needs small', id: 'catalog-needs', text: up.needs }) : imageLine ? h('p', { class: 'small muted', id: 'catalog-images', text: `Images: ${imageLine}.` }) : null,
    up.mappable ? [
      h('p', { class: 'small muted', text: 'Which column holds what? The mapping is remembered for the next file of this name.' }),
      h('div', { class: 'map-grid' }, (up.fields || []).map((f) => {
        const sel = h('select', { id: `map-${f}`, 'data-field': f }, h('option', { value: '', text: '— none —' }), up.columns.map((c) => h('option', { value: c, text: c })));
        sel.value = (up.mapping || {})[f] || '';
        selects[f] = sel;
        return h('label', { class: 'small' }, h('span', { text: FIELD_LABELS[f] || f }), sel);
      })),
      up.sample && up.sample.length ? h('div', { class: 'sample' }, h('table', { class: 'list small' },
        h('thead', {}, h('tr', {}, up.columns.map((c) => h('th', { text: c })))),
        h('tbody', {}, up.sample.map((row) => h('tr', {}, row.map((v) => h('td', { class: 'clamp', text: v }))))))) : null,
    ] : h('p', { class: 'small muted', text: `A ${up.format} feed: its fields are read as the format defines them.` }),
    h('div', { class: 'actions' }, start), status);
}

// batchState is what a catalog import row shows: the workflow's state
// while it runs or when it broke, else how the rows fared. A workflow that
// ran to the end with failed rows is partial (amber) or, when no row got
// in, failed.
function batchState(w) {
  if (w.state !== 'succeeded' || !w.batch || !w.batch.outcome || w.batch.outcome === 'running') return w.state;
  return w.batch.outcome;
}

function batchCounts(b) {
  return h('div', { class: 'muted small batch-counts' }, `${b.added} added · ${b.updated} updated · `,
    h('span', { class: b.failed ? 'error' : null, text: `${b.failed} failed` }));
}

// batchReasons lists a batch's first failed rows and, when they share a
// cause the importer can name, what to change.
function batchReasons(b) {
  if (!b.failed && !b.hint) return null;
  return h('div', { class: 'batch-reasons small' },
    (b.errors || []).map((e) => h('div', { class: 'reason clamp', title: e.reason, text: `line ${e.line}${e.product_id ? ` (${e.product_id})` : ''}: ${e.reason}` })),
    b.failed > (b.errors || []).length ? h('div', { class: 'muted', text: `… and ${b.failed - (b.errors || []).length} more` }) : null,
    b.hint ? h('div', { class: 'hint', text: `What to do: ${b.hint}.` }) : null);
}

// ---------- workflow graph ----------

const NODE_W = 150, NODE_H = 64, GAP = 36, PER_ROW = 5;

function graph(wf, selected, onSelect) {
  const n = wf.steps.length;
  const rows = Math.ceil(n / PER_ROW);
  const width = Math.min(n, PER_ROW) * (NODE_W + GAP) + GAP;
  const height = rows * (NODE_H + GAP) + GAP;
  const svg = s('svg', { id: 'graph', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `workflow ${wf.id}: ${wf.state}` },
    s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
      s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))));
  const pos = (i) => {
    const row = Math.floor(i / PER_ROW);
    // Snake: even rows left to right, odd rows right to left.
    const col = row % 2 === 0 ? i % PER_ROW : PER_ROW - 1 - (i % PER_ROW);
    return { x: GAP + col * (NODE_W + GAP), y: GAP + row * (NODE_H + GAP) };
  };
  for (let i = 0; i + 1 < n; i++) {
    const a = pos(i), b = pos(i + 1);
    let d;
    if (a.y === b.y) {
      const ltr = b.x > a.x;
      const x1 = ltr ? a.x + NODE_W : a.x, x2 = ltr ? b.x : b.x + NODE_W;
      d = `M${x1},${a.y + NODE_H / 2} L${x2},${b.y + NODE_H / 2}`;
    } else {
      d = `M${a.x + NODE_W / 2},${a.y + NODE_H} L${b.x + NODE_W / 2},${b.y}`;
    }
    const done = wf.steps[i].state === 'succeeded';
    svg.append(s('path', { d, class: `edge${done ? ' done' : ''}`, 'marker-end': 'url(#arrow)' }));
  }
  wf.steps.forEach((st, i) => {
    const p = pos(i);
    const g = s('g', { class: `node state-${st.state}${selected === st.index ? ' selected' : ''}`, 'data-step': st.name, 'data-state': st.state,
      transform: `translate(${p.x},${p.y})`, tabindex: 0, role: 'button', 'aria-label': `step ${st.name}: ${st.state}`,
      onclick: () => onSelect(st.index), onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onSelect(st.index); } } },
      s('rect', { width: NODE_W, height: NODE_H, rx: 10 }),
      s('text', { x: 12, y: 22, class: 'name', text: st.name }),
      s('text', { x: 12, y: 40, class: 'sub', text: `${st.state}${st.attempts > 1 ? ` · try ${st.attempts}` : ''}` }));
    if (st.started_at) {
      const end = st.finished_at ? new Date(st.finished_at) : new Date();
      g.append(s('text', { x: NODE_W - 10, y: 22, class: 'sub', 'text-anchor': 'end', text: fmtDur((end - new Date(st.started_at)) / 1000, true) }));
    }
    if (st.state === 'running' || st.progress_total > 0) {
      const frac = st.progress_total > 0 ? Math.min(1, st.progress_done / st.progress_total) : 0;
      g.append(s('rect', { x: 12, y: 49, width: NODE_W - 24, height: 6, rx: 3, class: 'ptrack' }),
        s('rect', { x: 12, y: 49, width: (NODE_W - 24) * frac, height: 6, rx: 3, class: 'pfill' }));
    }
    svg.append(g);
  });
  return svg;
}

// problemBox tells an error in words, with what to do, and folds the
// original message below; extra goes inside the fold.
function problemBox(p, id, ...extra) {
  return h('div', { class: 'problem', id: id ? `${id}-problem` : null },
    h('p', { class: 'error' }, h('strong', { class: 'summary', text: p.summary }), p.action ? ` ${p.action}` : ''),
    h('details', {}, h('summary', { class: 'small muted', text: 'Details' }), h('pre', { class: 'error', id: id ? `${id}-error` : null, text: p.detail }), extra));
}

function stepDetails(data, idx) {
  const wf = data.workflow;
  const st = wf.steps.find((x) => x.index === idx) || wf.steps[0];
  if (!st) return h('p', { class: 'muted', text: 'No steps.' });
  const runs = data.runs.filter((r) => r.index === st.index);
  const logs = data.logs.filter((l) => l.step === st.index);
  return h('div', { id: 'step-details' },
    h('h3', {}, `Step ${st.index + 1}: ${st.name} `, badge(st.state)),
    h('dl', { class: 'kv' },
      h('dt', { text: 'Attempts' }), h('dd', { text: String(st.attempts) }),
      h('dt', { text: 'Started' }), h('dd', { text: fmtWhen(st.started_at) }),
      h('dt', { text: 'Finished' }), h('dd', { text: fmtWhen(st.finished_at) }),
      h('dt', { text: 'Progress' }), h('dd', { text: st.progress_total ? `${st.progress_done} / ${st.progress_total}` : '–' })),
    st.error ? h('div', {}, h('h4', { text: 'Error' }), problemBox((data.step_problems || {})[st.index] || { summary: st.error, detail: st.error }, 'step')) : null,
    h('h4', { text: 'Attempts' }),
    runs.length ? h('table', { class: 'list small' }, h('thead', {}, h('tr', {}, ['#', 'Started', 'Took', 'Outcome'].map((t) => h('th', { text: t })))),
      h('tbody', {}, runs.map((r) => h('tr', {},
        h('td', { text: String(r.attempt) }), h('td', { text: fmtWhen(r.started_at) }),
        h('td', { text: r.finished_at ? fmtDur((new Date(r.finished_at) - new Date(r.started_at)) / 1000, true) : r.outcome ? '–' : 'running' }),
        h('td', {}, badge(r.outcome || 'running')))))) : h('p', { class: 'muted small', text: 'Not run yet.' }),
    h('h4', { text: 'Logs' }),
    logs.length ? h('pre', { class: 'logs' }, logs.map((l) => `${fmtWhen(l.at)} ${l.level.toUpperCase()} [try ${l.attempt}] ${l.msg}${l.attrs ? ' ' + JSON.stringify(l.attrs) : ''}\n`).join(''))
      : h('p', { class: 'muted small', text: 'No log lines.' }));
}

function workflowPage(id) {
  let selected = null;
  let pinned = false; // the operator picked a step: stop following the current one
  let last = null;
  const head = h('div', { class: 'wf-head' });
  const actions = h('div', { class: 'actions' });
  const graphBox = h('div', { class: 'graph-box' });
  const details = h('section', { class: 'card' });
  setPage(`Workflow ${id}`, head, actions, h('section', { class: 'card' }, graphBox), details);
  const act = async (what, path) => {
    try {
      await api('POST', path);
      toast(`${what}: done`);
      refresh();
    } catch (e) { toast(`${what}: ${e.message}`, true); }
  };
  const render = (data) => {
    const wf = data.workflow;
    last = data;
    const isVideo = wf.kind.startsWith('video');
    if (!pinned) {
      const cur = wf.steps.find((x) => !['succeeded', 'pending'].includes(x.state)) || wf.steps.find((x) => x.state === 'pending') || wf.steps[wf.steps.length - 1];
      selected = cur ? cur.index : 0;
    }
    const b = data.batch;
    fill(head, h('h1', {}, `${wf.kind} `, h('span', { class: 'subject', text: wf.subject }), ' ', badge(b ? batchState({ state: wf.state, batch: b }) : wf.state)),
      h('p', { class: 'muted' }, `Workflow ${wf.id} · started ${fmtWhen(wf.created_at)} · ${data.summary.steps_done}/${data.summary.steps_total} steps · ${fmtDur(data.summary.elapsed_s)}`,
        isVideo ? [' · ', h('a', { href: `#/video/${wf.subject}`, text: 'review video' })] : null),
      b ? h('section', { class: `batch-summary outcome-${b.outcome}`, id: 'batch-summary' },
        h('p', {}, h('strong', { text: b.source || `batch ${b.batch}` }), `: ${b.total} rows · `, batchCounts(b)),
        batchReasons(b)) : null,
      data.problem ? problemBox(data.problem, 'wf',
        // A permanent input error fails the same way again: no Retry up
        // front, only for an operator who replaced the input.
        !data.problem.retryable && wf.state === 'failed' && canIngest() ? h('p', { class: 'small' }, 'Retry cannot fix this as it is. After replacing the input on the server: ',
          h('button', { id: 'retry-anyway', type: 'button', class: 'ghost small', onclick: () => act('Retry', `/v1/workflows/${wf.id}/retry`) }, 'Run again')) : null) : null);
    const terminal = ['succeeded', 'failed', 'cancelled'].includes(wf.state);
    const permanent = wf.state === 'failed' && data.problem && !data.problem.retryable;
    fill(actions,
      permanent ? null : h('button', { id: 'retry', type: 'button', disabled: !canIngest() || !['failed', 'cancelled'].includes(wf.state), onclick: () => act('Retry', `/v1/workflows/${wf.id}/retry`) }, 'Retry'),
      h('button', { id: 'cancel', type: 'button', class: 'danger', disabled: !canIngest() || terminal, onclick: () => act('Cancel', `/v1/workflows/${wf.id}/cancel`) }, 'Cancel'),
      isVideo ? h('button', { id: 'rematch', type: 'button', disabled: !canIngest() || wf.state !== 'succeeded', onclick: async () => {
        try {
          const r = await api('POST', `/v1/videos/${encodeURIComponent(wf.subject)}/rematch`);
          location.hash = `#/workflow/${r.workflow_id}`;
        } catch (e) { toast(`Re-run matching: ${e.message}`, true); }
      } }, 'Re-run matching') : null);
    fill(graphBox, graph(wf, selected, (i) => { selected = i; pinned = true; render(last); }),
      h('p', { class: 'legend small' }, ['pending', 'running', 'retrying', 'succeeded', 'failed', 'cancelled'].map((x) => badge(x))));
    fill(details, stepDetails(data, selected));
  };
  const refresh = async () => render(await api('GET', `/console/api/workflows/${id}`));
  poll(refresh, () => (last && ['succeeded', 'failed', 'cancelled'].includes(last.workflow.state) ? 4000 : 1000));
}

// ---------- video review ----------

function boxAt(item, t) {
  const bs = item.boxes || [];
  if (!bs.length || t < item.start_s - 0.05 || t > item.end_s + 0.05) return null;
  if (t <= bs[0].t) return bs[0];
  for (let i = 0; i + 1 < bs.length; i++) {
    const a = bs[i], b = bs[i + 1];
    if (t >= a.t && t <= b.t) {
      const f = b.t > a.t ? (t - a.t) / (b.t - a.t) : 0;
      return { x: a.x + f * (b.x - a.x), y: a.y + f * (b.y - a.y), w: a.w + f * (b.w - a.w), h: a.h + f * (b.h - a.h) };
    }
  }
  return bs[bs.length - 1];
}

// containRect is where a vw×vh picture lands in an ew×eh element with
// object-fit: contain (how a video element shows its picture): scaled to fit
// whole and centred, with bars on the other axis. The player places its
// hotspots with the same rule.
function containRect(vw, vh, ew, eh) {
  const k = Math.min(ew / vw, eh / vh), w = vw * k, h = vh * k;
  return { x: (ew - w) / 2, y: (eh - h) / 2, w, h };
}

// needsReview: the item waits for a reviewer and players do not show it.
// Items without a status (documents made before statuses) are published.
function needsReview(it) { return it.status === 'needs_review'; }

// reviewOrder lists the items that need review first, then the rest, each
// group by start time.
function reviewOrder(items) {
  return items.slice().sort((a, b) => (needsReview(b) - needsReview(a)) || (a.start_s - b.start_s) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

// fmtPct prints a probability as a whole percentage, never rounding a
// doubt away: 0.996 is ">99%", not 100%.
function fmtPct(p) {
  const v = 100 * p;
  if (v > 0 && v < 1) return '<1%';
  if (v > 99 && v < 100) return '>99%';
  return `${Math.round(v)}%`;
}

function productOf(it) {
  if (it.review === 'rejected') return '';
  if (it.product_id) return it.product_id;
  return it.matches && it.matches.length ? it.matches[0].product_id : '';
}

function productChip(p, id, extra) {
  return h('div', { class: 'product', 'data-product': id },
    p && p.image ? h('img', { src: p.image, alt: '', loading: 'lazy' }) : h('div', { class: 'noimg' }),
    h('div', {}, h('div', { class: 'ptitle', text: p ? p.title : id }), h('div', { class: 'muted small', text: `${id}${p && p.category ? ' · ' + p.category : ''}` }), extra));
}

function searchPanel(onPick) {
  const out = h('div', { class: 'results' });
  const q = h('input', { type: 'search', placeholder: 'Search the catalog: "red t-shirt"', class: 'replace-q' });
  const img = h('input', { type: 'file', accept: 'image/*', class: 'replace-img' });
  const show = (results) => {
    fill(out, ...(results.length ? results.map((r) => productChip({ title: r.product.title, category: r.product.category, image: r.product.images && r.product.images.length ? `/public/v1/products/${encodeURIComponent(r.product.id)}/images/0` : '' }, r.product.id,
      h('div', {}, h('span', { class: 'score', text: r.score.toFixed(3) }), ' ', h('button', { type: 'button', class: 'use small', onclick: () => onPick(r.product.id) }, 'Use this product'))))
      : [h('p', { class: 'muted small', text: 'No products found.' })]));
  };
  const go = async () => {
    if (!q.value.trim()) return;
    try { show((await api('GET', `/v1/catalog/search?k=8&q=${encodeURIComponent(q.value.trim())}`)).results); } catch (e) { fill(out, h('p', { class: 'error small', text: e.message })); }
  };
  q.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); go(); } });
  img.addEventListener('change', async () => {
    if (!img.files[0]) return;
    try {
      const res = await api('POST', '/v1/catalog/search?k=8', img.files[0]);
      const best = res.items.reduce((acc, it) => acc.concat(it.results), []);
      const seen = new Set();
      show(best.sort((a, b) => b.score - a.score).filter((r) => !seen.has(r.product.id) && seen.add(r.product.id)).slice(0, 8));
    } catch (e) { fill(out, h('p', { class: 'error small', text: e.message })); }
  });
  return h('div', { class: 'replace-panel' }, h('div', { class: 'row' }, q, h('button', { type: 'button', class: 'replace-search', onclick: go }, 'Search')),
    h('label', { class: 'small' }, 'or by image: ', img), out);
}

function videoPage(id, params) {
  const my = page;
  const vid = h('video', { id: 'review-video', controls: true, preload: 'auto', muted: true, playsinline: true, src: `/console/api/videos/${encodeURIComponent(id)}/media` });
  const overlay = s('svg', { class: 'overlay', viewBox: '0 0 1 1', preserveAspectRatio: 'none' });
  const stage = h('div', { class: 'stage' }, vid, overlay);
  const timeline = h('div', { class: 'timeline', id: 'timeline' });
  const head = h('div', {});
  const items = h('div', { id: 'items' });
  const history = h('tbody', { id: 'history' });
  const waiting = h('span', { class: 'muted small', id: 'needs-review-count' });
  const legend = h('p', { class: 'legend small muted', id: 'span-legend', hidden: true }, h('span', { class: 'swatch' }), ' published · ',
    h('span', { class: 'swatch status-needs_review' }), ' needs review: players do not show it yet');
  let data = null;
  let openReplace = null;
  setPage(`Review ${id}`, head,
    h('div', { class: 'review' },
      h('div', {}, h('section', { class: 'card' }, stage, timeline, legend)),
      h('section', { class: 'card items' }, h('h2', {}, 'Items ', waiting), items)),
    h('section', { class: 'card' }, h('h2', { text: 'Review history' }),
      h('table', { class: 'list small' }, h('thead', {}, h('tr', {}, ['When', 'Who', 'Action', 'Item', 'Product', 'Note'].map((t) => h('th', { text: t })))), history)));

  // fit lays the overlay over the picture, not the element: a video of
  // another shape than the stage (a vertical reel) has bars beside it.
  const fit = () => {
    const vw = vid.videoWidth || (data && data.video.width), vh = vid.videoHeight || (data && data.video.height);
    const ew = vid.clientWidth, eh = vid.clientHeight;
    if (!vw || !vh || !ew || !eh) return;
    const r = containRect(vw, vh, ew, eh);
    Object.assign(overlay.style, { left: `${vid.offsetLeft + r.x}px`, top: `${vid.offsetTop + r.y}px`, width: `${r.w}px`, height: `${r.h}px` });
  };
  const ro = new ResizeObserver(() => { if (my !== page) ro.disconnect(); else fit(); });
  ro.observe(vid);

  const draw = () => {
    if (!data || !data.items) return;
    const t = vid.currentTime;
    fill(overlay, ...data.items.filter((it) => it.review !== 'rejected').map((it) => {
      const b = boxAt(it, t);
      if (!b) return null;
      return s('g', { class: `box review-${it.review}${needsReview(it) ? ' status-needs_review' : ''}`, 'data-item': it.id },
        s('rect', { x: b.x, y: b.y, width: b.w, height: b.h, 'vector-effect': 'non-scaling-stroke' }));
    }).filter(Boolean));
    for (const el of items.querySelectorAll('.item')) {
      const it = data.items.find((x) => x.id === el.dataset.item);
      el.classList.toggle('on-screen', !!it && t >= it.start_s && t <= it.end_s);
    }
    const ph = timeline.querySelector('.playhead');
    if (ph && data.video.duration_s) ph.style.left = `${(100 * t) / data.video.duration_s}%`;
    if (deepLink && !vid.seeking && vid.readyState >= 1 && Math.abs(t - parseFloat(params.get('t'))) < 0.5 && scrollToScreen()) deepLink = false;
  };
  vid.addEventListener('timeupdate', draw);
  vid.addEventListener('seeked', draw);
  vid.addEventListener('loadedmetadata', () => {
    const t = parseFloat(params.get('t'));
    if (t >= 0) vid.currentTime = t;
    fit();
    draw();
  });
  const seek = (t) => { vid.currentTime = Math.max(0, t); draw(); };
  // select shows an item where it first appears and marks its card.
  let selected = null;
  const select = (it) => {
    selected = it.id;
    for (const el of items.querySelectorAll('.item')) el.classList.toggle('selected', el.dataset.item === it.id);
    seek(it.start_s);
  };
  // scrollToScreen brings the first item on screen into the list's view
  // (a ?t= deep link lands there); it reports whether there was one.
  const scrollToScreen = () => {
    const el = items.querySelector('.item.on-screen');
    if (!el) return false;
    const box = items.closest('.items');
    box.scrollTop += el.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
    return true;
  };
  let deepLink = parseFloat(params.get('t')) >= 0;

  const edit = async (item, action, productId) => {
    try {
      const r = await api('POST', `/console/api/videos/${encodeURIComponent(id)}/review`, { item_id: item.id, action, product_id: productId || '' });
      toast(r.warning ? r.warning : `${action} ${item.id}: saved, publishing a new version…`, !!r.warning);
      openReplace = null;
      await load();
    } catch (e) { toast(`${action} ${item.id}: ${e.message}`, true); }
  };

  const render = () => {
    const v = data.video;
    fill(head, h('h1', {}, (v.source || v.id).split('/').pop(), ' ', badge(v.state)),
      h('p', { class: 'muted' }, `${v.id} · ${v.width}×${v.height} · ${fmtDur(v.duration_s)} · `,
        h('span', { id: 'published-version', 'data-version': data.published_version || 0, text: `published version ${data.published_version || '–'}` }), ' · ',
        h('a', { href: `/v1/videos/${encodeURIComponent(v.id)}/shoppable`, target: '_blank', rel: 'noopener', text: 'shoppable JSON' }),
        data.published_version ? [' · ', h('a', { id: 'preview-link', class: 'preview', href: `/demo/${encodeURIComponent(v.id)}`, target: '_blank', rel: 'noopener',
          title: 'The published version in the player, as a shopper sees it', text: 'Preview as shopper ↗' })] : null,
        data.workflow ? [' · ', h('a', { href: `#/workflow/${data.workflow.id}`, text: `workflow: ${data.workflow.kind} ` }), badge(data.workflow.state)] : null));
    // Shots timeline with item spans.
    const dur = v.duration_s || 1;
    fill(timeline,
      h('div', { class: 'shots' }, data.shots.map((sh) => h('button', { type: 'button', class: 'shot', title: `shot ${sh.index}: ${fmtTime(sh.start_s)}–${fmtTime(sh.end_s)} (${sh.transition})`,
        style: `left:${(100 * sh.start_s) / dur}%;width:${(100 * (sh.end_s - sh.start_s)) / dur}%`, onclick: () => seek(sh.keyframe_s || sh.start_s) },
      sh.thumbnail ? h('img', { src: `/v1/videos/${encodeURIComponent(v.id)}/shots/${sh.index}/thumbnail`, alt: `shot ${sh.index}` }) : null,
      h('span', { text: String(sh.index) })))),
      h('div', { class: 'spans' }, (data.items || []).map((it, i) => h('button', { type: 'button', class: `span review-${it.review}${needsReview(it) ? ' status-needs_review' : ''}`, 'data-item': it.id,
        title: `${it.id} ${it.label} ${fmtTime(it.start_s)}–${fmtTime(it.end_s)}${needsReview(it) ? ' · needs review' : ''}${it.confidence != null ? ` · ${fmtPct(it.confidence)} confident` : ''}`,
        style: `left:${(100 * it.start_s) / dur}%;width:${Math.max(0.6, (100 * (it.end_s - it.start_s)) / dur)}%;top:${(i % 4) * 7}px`, onclick: () => seek(it.start_s) }))),
      h('div', { class: 'playhead' }));
    // Items with ranked matches: those waiting for a reviewer first.
    const list = reviewOrder(data.items || []);
    const nWaiting = list.filter(needsReview).length;
    waiting.textContent = nWaiting ? `· ${nWaiting} need${nWaiting === 1 ? 's' : ''} review` : '';
    legend.hidden = !nWaiting;
    fill(items, ...(list.length ? list.map((it) => {
      const chosen = productOf(it);
      const matches = (it.matches || []).slice(0, 5);
      const card = h('article', { class: `item review-${it.review}${needsReview(it) ? ' status-needs_review' : ''}${selected === it.id ? ' selected' : ''}`, 'data-item': it.id, 'data-status': it.status || 'published',
        // Selecting an item (a click anywhere on its card but its
        // controls) shows it where it first appears.
        onclick: (e) => { if (!e.target.closest('button, a, input, select, label, .replace-panel')) select(it); } },
        h('header', {}, h('button', { type: 'button', class: 'link', onclick: () => select(it) }, `${it.id} · ${it.label}`),
          h('span', { class: 'muted small', text: ` shot ${it.shot} · ${fmtTime(it.start_s)}–${fmtTime(it.end_s)} ` }), h('span', { class: `badge review-${it.review}`, text: it.review }),
          needsReview(it) ? [' ', h('span', { class: 'badge status-needs_review', text: 'needs review' })] : null,
          it.confidence != null ? [' ', h('span', { class: 'confidence', title: 'Calibrated probability that this product is what is on screen', text: `${fmtPct(it.confidence)} confident` })] : null),
        it.review === 'replaced' && it.product_id ? h('div', { class: 'chosen' }, h('div', { class: 'small muted', text: 'Replaced by' }), productChip(data.products[it.product_id], it.product_id)) : null,
        matches.length ? h('ol', { class: 'matches' }, matches.map((m) => h('li', { class: m.product_id === chosen ? 'match chosen' : 'match' },
          productChip(data.products[m.product_id], m.product_id, h('span', { class: 'score', text: `score ${m.score.toFixed(3)}` }))))) : h('p', { class: 'muted small', text: 'No match close enough.' }),
        canIngest() ? h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'approve', disabled: !matches.length && !it.product_id, onclick: () => edit(it, 'approve') }, 'Approve'),
          h('button', { type: 'button', class: 'reject danger', onclick: () => edit(it, 'reject') }, 'Reject'),
          h('button', { type: 'button', class: 'replace', onclick: () => { openReplace = openReplace === it.id ? null : it.id; selected = it.id; seek(it.start_s); render(); } }, 'Replace…'),
          it.review !== 'auto' ? h('button', { type: 'button', class: 'reset ghost', onclick: () => edit(it, 'reset') }, 'Reset') : null) : null,
        openReplace === it.id ? searchPanel((pid) => edit(it, 'replace', pid)) : null);
      return card;
    }) : [h('p', { class: 'muted', text: v.state === 'ready' ? 'No items were found in this video.' : `The video is ${v.state}; items appear when its analysis has finished.` })]));
    fill(history, ...data.edits.slice().reverse().map((e) => h('tr', {},
      h('td', { text: fmtWhen(e.created_at) }), h('td', { text: e.actor.name || `key ${e.actor.key_id}` }), h('td', {}, h('span', { class: `badge review-${e.action}`, text: e.action })),
      h('td', { text: `${e.item_id} (${e.label})` }), h('td', { text: e.product_id ? `${e.product_id}${data.products[e.product_id] ? ' · ' + data.products[e.product_id].title : ''}` : '–' }),
      h('td', { text: e.note || '' }))));
    if (!data.edits.length) history.append(h('tr', {}, h('td', { colspan: 6, class: 'muted', text: 'No edits yet.' })));
    fit();
    draw();
  };
  const load = async () => {
    const d = await api('GET', `/console/api/videos/${encodeURIComponent(id)}`);
    if (my !== page) return;
    d.products = d.products || {};
    d.edits = d.edits || [];
    d.shots = d.shots || [];
    const changed = !data || JSON.stringify([d.items, d.edits, d.published_version, d.video.state, d.workflow && d.workflow.state]) !==
      JSON.stringify([data.items, data.edits, data.published_version, data.video.state, data.workflow && data.workflow.state]);
    data = d;
    if (changed) render();
  };
  poll(load, 2000);
}

// ---------- catalog ----------

function catalogPage() {
  const grid = h('div', { class: 'products', id: 'products' });
  const info = h('p', { class: 'muted', id: 'catalog-info' });
  const q = h('input', { type: 'search', id: 'catalog-q', placeholder: 'Search products: "blue jeans"' });
  const img = h('input', { type: 'file', id: 'catalog-img', accept: 'image/*' });
  const status = h('select', { id: 'catalog-status' }, ['', 'ready', 'pending', 'failed'].map((x) => h('option', { value: x, text: x || 'any state' })));
  let offset = 0;
  const limit = 48;
  const pager = h('div', { class: 'pager' });
  const card = (p, extra) => h('article', { class: 'pcard', 'data-product': p.id },
    // A failed product has no stored image to show: its error says why.
    p.images && p.images.length && p.status !== 'failed' ? h('img', { src: /^https?:/.test(p.images[0]) ? p.images[0] : `/public/v1/products/${encodeURIComponent(p.id)}/images/0`, alt: p.title, loading: 'lazy' }) : h('div', { class: 'noimg' }),
    h('div', { class: 'ptitle', text: p.title || p.id }),
    h('div', { class: 'muted small', text: [p.id, p.category, p.colour].filter(Boolean).join(' · ') }),
    h('div', {}, p.status ? badge(p.status === 'ready' ? 'succeeded' : p.status === 'failed' ? 'failed' : 'pending', p.status) : null, extra),
    p.error ? h('div', { class: 'error small', text: p.error }) : null,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'small similar', onclick: () => similar(p) }, 'Similar'),
      h('a', { class: 'small', href: `#/search?product_id=${encodeURIComponent(p.id)}`, text: 'In videos' })));
  const results = (title, rs) => {
    info.textContent = title;
    fill(pager);
    fill(grid, ...(rs.length ? rs.map((r) => card(r.product, h('span', { class: 'score', text: ` score ${r.score.toFixed(3)}` }))) : [h('p', { class: 'muted', text: 'Nothing found.' })]));
  };
  const similar = async (p) => {
    try { results(`Products similar to ${p.title || p.id}`, (await api('GET', `/v1/catalog/products/${encodeURIComponent(p.id)}/similar?k=12`)).results); } catch (e) { toast(e.message, true); }
  };
  const list = async () => {
    const st = status.value;
    const r = await api('GET', `/console/api/catalog/products?offset=${offset}&limit=${limit}${st ? '&status=' + st : ''}`);
    const c = r.counts || {};
    info.textContent = `${r.total} products${st ? ' ' + st : ''} · ${Object.entries(c).map(([k, v]) => `${v} ${k}`).join(', ')}`;
    fill(grid, ...(r.products.length ? r.products.map((p) => card(p)) : [h('p', { class: 'muted', text: 'No products. Import a catalog file from the dashboard.' })]));
    fill(pager,
      h('button', { type: 'button', class: 'ghost', disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - limit); list(); } }, '← Previous'),
      h('span', { class: 'muted small', text: ` ${offset + 1}–${Math.min(offset + limit, r.total)} of ${r.total} ` }),
      h('button', { type: 'button', class: 'ghost', disabled: offset + limit >= r.total, onclick: () => { offset += limit; list(); } }, 'Next →'));
  };
  const search = async () => {
    const text = q.value.trim();
    if (!text) { offset = 0; list(); return; }
    try { results(`Products matching “${text}”`, (await api('GET', `/v1/catalog/search?k=24&q=${encodeURIComponent(text)}`)).results); } catch (e) { toast(e.message, true); }
  };
  q.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); search(); } });
  status.addEventListener('change', () => { offset = 0; list(); });
  img.addEventListener('change', async () => {
    if (!img.files[0]) return;
    try {
      const res = await api('POST', '/v1/catalog/search?k=12', img.files[0]);
      const all = res.items.reduce((acc, it) => acc.concat(it.results), []);
      const seen = new Set();
      results(`Products like ${img.files[0].name}`, all.sort((a, b) => b.score - a.score).filter((r) => !seen.has(r.product.id) && seen.add(r.product.id)));
    } catch (e) { toast(e.message, true); }
  });
  const feeds = h('tbody', { id: 'feeds' });
  setPage('Catalog', h('h1', { text: 'Catalog' }),
    h('section', { class: 'card', id: 'feed-syncs' }, h('h2', { text: 'Feed syncs' }),
      h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ['Feed', 'Last sync', 'Added', 'Updated', 'Removed', 'Failed', 'Next run'].map((t) => h('th', { text: t })))), feeds)),
    h('section', { class: 'card' }, h('div', { class: 'row' }, q, h('button', { type: 'button', id: 'catalog-search', onclick: search }, 'Search'), status),
      h('label', { class: 'small' }, 'Search by image: ', img), info, grid, pager));
  list().catch((e) => toast(e.message, true));
  poll(async () => fill(feeds, ...feedRows((await api('GET', '/v1/catalog/feeds')).feeds)), 10000);
}

// feedRows are the sync summaries of the shop feeds kept in sync: the last
// sync (linked to its import workflow) and what it changed, the last
// attempt when it failed or found the feed unchanged, and the next run of
// the schedule.
function feedRows(fs) {
  if (!fs.length) {
    return [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No feed synced yet: run ', h('code', { text: 'vitrine catalog sync URL' }),
      ' or list feeds in the server\'s ', h('code', { text: 'catalog_feeds' }), ' setting.'))];
  }
  const now = Date.now();
  return fs.map((f) => {
    const last = f.synced_at ? (f.workflow_id ? h('a', { href: `#/workflow/${f.workflow_id}`, text: fmtWhen(f.synced_at) }) : fmtWhen(f.synced_at)) : 'never';
    const checked = f.checked_at && f.checked_at !== f.synced_at && !f.error ? h('div', { class: 'muted small', text: `checked ${fmtWhen(f.checked_at)}: not modified` }) : null;
    const next = f.next_at ? (Date.parse(f.next_at) < now ? `due (${fmtWhen(f.next_at)})` : fmtWhen(f.next_at)) : 'not scheduled';
    return h('tr', { class: `feed ${f.error ? 'state-failed' : ''}`, 'data-feed': f.source },
      h('td', {}, h('span', { class: 'feed-name', text: f.source }), f.outcome ? [' ', badge(f.outcome)] : null,
        f.error ? h('div', { class: 'error small clamp feed-error', title: f.error, text: `${fmtWhen(f.checked_at)}: ${f.error}` }) : null),
      h('td', { class: 'feed-last' }, last, checked),
      h('td', { class: 'feed-added', text: String(f.added) }),
      h('td', { class: 'feed-updated', text: String(f.updated) }),
      h('td', { class: 'feed-removed', text: String(f.removed) }),
      h('td', { class: `feed-failed ${f.failed ? 'error' : ''}`, text: String(f.failed) }),
      h('td', { class: 'feed-next', text: next }));
  });
}

// ---------- search across videos ----------

function searchPage(params) {
  const q = h('input', { type: 'search', id: 'video-q', placeholder: 'red handbag, or a product id', value: params.get('q') || params.get('product_id') || '' });
  const mode = h('select', { id: 'video-mode' }, h('option', { value: 'q', text: 'text' }), h('option', { value: 'product_id', text: 'product id' }));
  if (params.get('product_id')) mode.value = 'product_id';
  const out = h('div', { id: 'video-results' });
  const ranInfo = h('p', { class: 'muted small', id: 'query-run' });
  const go = async () => {
    const v = q.value.trim();
    if (!v) return;
    const hash = `#/search?${mode.value}=${encodeURIComponent(v)}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
    fill(out, h('p', { class: 'muted', text: 'Searching…' }));
    try {
      const r = await api('GET', `/v1/search/videos?${mode.value}=${encodeURIComponent(v)}`);
      // Show the query as the server ran it.
      const ran = r.query || {};
      if (ran.product_id) { mode.value = 'product_id'; q.value = ran.product_id; } else if (ran.q !== undefined) { mode.value = 'q'; q.value = ran.q; }
      fill(ranInfo, ran.product_id ? `Videos showing product ${ran.product_id}` : `Videos for “${ran.q}”: the words matched against item labels, and ${ran.products} catalog product${ran.products === 1 ? '' : 's'} matching them`);
      const info = r.video_info || {};
      fill(out, ...(r.videos.length ? r.videos.map((hit) => { const vi = info[hit.video_id] || { name: hit.video_id }; return h('section', { class: 'card hit', 'data-video': hit.video_id },
        vi.thumbnail ? h('a', { class: 'thumb', href: `#/video/${hit.video_id}?t=${hit.ranges[0].start_s.toFixed(2)}` }, h('img', { src: vi.thumbnail, alt: `${vi.name} at ${fmtTime(hit.ranges[0].start_s)}`, loading: 'lazy' })) : null,
        h('div', {},
        h('h3', {}, h('a', { class: 'name', href: `#/video/${hit.video_id}`, text: vi.name }), h('span', { class: 'muted small', text: ` ${hit.video_id} · ${hit.ranges.length} appearance${hit.ranges.length === 1 ? '' : 's'}` })),
        h('ul', { class: 'ranges' }, hit.ranges.map((rg) => h('li', {},
          h('a', { class: 'jump', href: `#/video/${hit.video_id}?t=${rg.start_s.toFixed(2)}`, text: `${fmtTime(rg.start_s)}–${fmtTime(rg.end_s)}` }),
          ` ${rg.label}`, rg.product_id ? ` · ${rg.product_id}${r.products[rg.product_id] ? ' ' + r.products[rg.product_id].title : ''}` : '',
          h('span', { class: 'score', text: ` ${rg.score.toFixed(2)}` })))))); }) : [h('p', { class: 'muted', text: 'No video shows it.' })]));
    } catch (e) { fill(out, h('p', { class: 'error', text: e.message })); }
  };
  q.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); go(); } });
  setPage('Search videos', h('h1', { text: 'Search across videos' }),
    h('section', { class: 'card' }, h('div', { class: 'row' }, q, mode, h('button', { type: 'button', id: 'video-search', onclick: go }, 'Search')), ranInfo), out);
  if (q.value) go();
}

// ---------- live streams ----------

// livePage lists the live streams with their state, lag, dropped frames,
// reconnects and items so far, and the items of the chosen stream; it
// refreshes every 2 s.
function livePage(id) {
  const rows = h('tbody', { id: 'live-streams' });
  const items = h('section', { class: 'card', id: 'live-items', hidden: !id });
  setPage('Live streams', h('h1', { text: 'Live streams' }),
    h('p', { class: 'muted', text: 'Start one with vitrine live start URL or POST /v1/live; products that pass the publish decision reach viewers as they show.' }),
    h('section', { class: 'card' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Stream', 'State', 'Lag', 'Frames', 'Dropped', 'Reconnects', 'Items', 'Recording'].map((t) => h('th', { text: t })))), rows)),
    items);
  const stop = async (sid) => {
    try { await api('POST', `/v1/live/${encodeURIComponent(sid)}/stop`); toast('Stream stopped'); } catch (e) { toast(e.message, true); }
  };
  poll(async () => {
    // The items are read after the list and both are drawn together, so a
    // stream shown ended never shows an item still on screen.
    const { streams } = await api('GET', '/v1/live');
    const d = id ? await api('GET', `/v1/live/${encodeURIComponent(id)}`) : null;
    fill(rows, streams.length ? streams.map((s) => h('tr', { class: `live-stream ${s.state === 'failed' ? 'state-failed' : ''}`, 'data-stream': s.id },
      h('td', {}, h('a', { href: `#/live/${encodeURIComponent(s.id)}`, text: s.name || s.id }), h('div', { class: 'muted small clamp', title: s.source, text: s.source }),
        s.error ? h('div', { class: 'error small clamp', title: s.error, text: s.error }) : null),
      h('td', {}, badge(s.state === 'stopped' ? 'succeeded' : s.state, s.state),
        s.state === 'running' ? [' ', h('button', { type: 'button', class: 'small live-stop', onclick: () => stop(s.id) }, 'Stop')] : null),
      h('td', { class: 'live-lag', text: `${s.lag_s.toFixed(1)} s` }),
      h('td', { text: String(s.frames) }),
      h('td', { class: s.dropped ? 'warn' : '', text: String(s.dropped) }),
      h('td', { text: String(s.reconnects) }),
      h('td', { class: 'live-items', text: String(s.items) }),
      h('td', {}, s.video_id ? h('a', { href: `#/video/${s.video_id}`, text: s.video_id }) : '–')))
      : [h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No live stream yet.'))]);
    if (!d) return;
    fill(items, h('h2', { text: `Items of ${d.stream.name || d.stream.id}` }), h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Item', 'Product', 'Label', 'Confidence', 'First seen', 'Announced', 'Left'].map((t) => h('th', { text: t })))),
      h('tbody', {}, d.items.length ? d.items.map((it) => h('tr', { class: 'live-item', 'data-product': it.product_id },
        h('td', { text: it.id }), h('td', { text: it.product_id }), h('td', { text: it.label }), h('td', { text: it.confidence.toFixed(2) }),
        h('td', { text: fmtTime(it.first_s) }), h('td', { text: fmtTime(it.start_s) }), h('td', { text: it.end_s == null ? 'on screen' : fmtTime(it.end_s) })))
        : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'Nothing announced yet.')))));
  }, 2000);
}

// ---------- router ----------

function route() {
  page++;
  clearTimeout(timer);
  if (!session.csrf) return;
  const [path, query] = (location.hash.slice(1) || '/').split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean);
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.nav === (parts[0] || 'dashboard'));
  switch (parts[0]) {
    case 'workflow': workflowPage(parseInt(parts[1], 10)); break;
    case 'video': videoPage(decodeURIComponent(parts[1] || ''), params); break;
    case 'catalog': catalogPage(); break;
    case 'search': searchPage(params); break;
    case 'live': livePage(parts[1] ? decodeURIComponent(parts[1]) : ''); break;
    default: dashboard();
  }
}

window.addEventListener('hashchange', route);

(async () => {
  try {
    setSession(await api('GET', '/console/api/session'));
    route();
  } catch (e) {
    if (!(e instanceof APIError && e.status === 401)) setPage('Error', h('p', { class: 'error', text: e.message }));
  }
})();
