// <vitrine-player>: a dependency-free web component that turns an HTML5
// video into a shoppable one, using the vitrine.shoppable/v1 document and
// the product-details API of a vitrine server.
//
//   <script type="module" src="https://VITRINE/player/vitrine-player.js"></script>
//   <vitrine-player src="movie.mp4" video="VIDEO_ID" key="pk_…"></vitrine-player>
//
// Attributes: src (video URL), video (vitrine video id), key (publishable
// key), api (vitrine base URL; defaults to where this script came from),
// shoppable (URL of the document, overrides api+video), poster, autoplay,
// muted, loop, locale (for prices; defaults to the page's language),
// max-hotspots (most hotspots on screen at once, best matches first;
// default 3), live-delay (seconds a live stream plays behind its newest
// segment, default 4, so that hotspots can show with their frames), live
// (a vitrine live stream id: hotspots come from its
// events as the products show, whatever the video's time; src is then the
// stream's playback URL). An HLS src (.m3u8) plays through the hls.js
// this script's server serves beside it (fetched only then) wherever the
// browser has Media Source Extensions, and natively where it has not
// (iPhones before iOS 17.1).
//
// Events on the element: vitrine-ready {document}, vitrine-product
// {product, item} when a card opens, vitrine-error {message}, and
// vitrine:add-to-cart {product_id, video_id, item_id, t, product} when the
// viewer presses "Add to cart" on a product that has no link of its own:
// the host page's cart handles it (the event bubbles out of the element).

const SCRIPT_ORIGIN = new URL(import.meta.url).origin;
// DEFAULT_MAX_HOTSPOTS keeps the picture watchable: more dots than this at
// once cover what they sell.
const DEFAULT_MAX_HOTSPOTS = 3;
// ADD_TO_CART is the DOM event a host page listens to for its cart.
export const ADD_TO_CART = 'vitrine:add-to-cart';
const IMPRESSION_MS = 1000;
const FLUSH_MS = 2000;
// A live event shows with its frame, give or take LIVE_SLACK_S; clocks
// further apart than LIVE_MAX_SKEW_S are not the same stream's, and at
// most LIVE_PENDING_MAX events wait (a paused live video).
const LIVE_SLACK_S = 0.1;
const LIVE_MAX_SKEW_S = 30;
const LIVE_PENDING_MAX = 500;
const LIVE_DELAY_S = 4;
// HLS_TYPES are the MIME types a browser that plays HLS natively claims.
const HLS_TYPES = ['application/vnd.apple.mpegurl', 'application/x-mpegurl'];
// HLS_JS is the pinned hls.js build (no DRM, subtitles or alternate audio)
// served beside this script: web/player/package.json.
const HLS_JS = new URL('vendor/hls.light.min.mjs', import.meta.url).href;

// isHLS reports whether url names an HLS playlist.
function isHLS(url) {
  try { return /\.m3u8$/i.test(new URL(url, document.baseURI).pathname); } catch { return false; }
}

const ICONS = {
  play: 'M8 5v14l11-7z',
  pause: 'M6 5h4v14H6zm8 0h4v14h-4z',
  sound: 'M3 9v6h4l5 5V4L7 9H3zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4z',
  muted: 'M3 9v6h4l5 5V4L7 9H3zm13.6 3 2.7-2.7-1.4-1.4-2.7 2.7-2.7-2.7-1.4 1.4 2.7 2.7-2.7 2.7 1.4 1.4 2.7-2.7 2.7 2.7 1.4-1.4z',
};

function icon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '20');
  svg.setAttribute('height', '20');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name]);
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

const CSS = `
:host { display: block; position: relative; font: 14px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #111; --accent: #0b57d0; --hot: #fff; container-type: inline-size; max-width: 100%; }
* { box-sizing: border-box; }
.root { display: flex; flex-direction: column; gap: 8px; width: 100%; }
.stage { position: relative; width: 100%; background: #000; overflow: hidden; border-radius: 8px; }
video { display: block; width: 100%; height: 100%; object-fit: contain; background: #000; }
.layer { position: absolute; pointer-events: none; }
.hotspot { position: absolute; width: 30px; height: 30px; margin: -15px 0 0 -15px; border-radius: 50%;
  border: 2px solid var(--accent); background: var(--hot); color: var(--accent); font-weight: 700; font-size: 18px; line-height: 24px;
  padding: 0; cursor: pointer; pointer-events: auto; box-shadow: 0 1px 6px rgba(0,0,0,.45); transition: transform .12s; }
.hotspot:hover, .hotspot:focus-visible { transform: scale(1.18); outline: 3px solid #ffbf00; outline-offset: 2px; }
.box { position: absolute; border: 2px dashed rgba(255,255,255,.9); border-radius: 6px; display: none; }
.chip { position: absolute; background: rgba(0,0,0,.78); color: #fff; border: 0; border-radius: 12px;
  padding: 3px 9px; font-size: 12px; line-height: 18px; white-space: nowrap; display: none; pointer-events: auto; cursor: pointer; max-width: 45cqw;
  overflow: hidden; text-overflow: ellipsis; }
.paused .box, .paused .chip { display: block; }
/* A chip with no free place beside its dot shows only while its dot is hovered or focused. */
.paused .chip.nofit { display: none; }
.paused .hotspot:hover + .chip.nofit, .paused .hotspot:focus-visible + .chip.nofit { display: block; z-index: 2; }
.bar { display: flex; align-items: center; gap: 8px; }
.bar button { border: 0; background: #111; color: #fff; border-radius: 6px; min-width: 36px; height: 32px; cursor: pointer;
  display: inline-flex; align-items: center; justify-content: center; }
.bar button:focus-visible, .tray button:focus-visible, .card button:focus-visible, .card a:focus-visible { outline: 3px solid #ffbf00; outline-offset: 2px; }
.seek { position: relative; flex: 1; height: 32px; }
.seek input { position: absolute; inset: 0; width: 100%; margin: 0; background: transparent; accent-color: var(--accent); }
.markers { position: absolute; left: 0; right: 0; top: 50%; height: 0; pointer-events: none; }
.marker { position: absolute; top: -11px; width: 4px; height: 8px; margin-left: -2px; background: #e8710a; border-radius: 2px; }
.time { font-variant-numeric: tabular-nums; font-size: 12px; color: #444; min-width: 82px; text-align: right; }
.tray { display: flex; gap: 8px; overflow-x: auto; padding: 2px; min-height: 64px; list-style: none; margin: 0; }
.tray:empty::before { content: attr(data-empty); color: #666; font-size: 12px; align-self: center; }
.tray li { flex: 0 0 auto; }
.tray button { display: flex; gap: 8px; align-items: center; width: 210px; text-align: left; border: 1px solid #ddd; background: #fff;
  border-radius: 8px; padding: 6px; cursor: pointer; }
.tray img { width: 48px; height: 48px; object-fit: cover; border-radius: 4px; background: #eee; flex: none; }
.tray .t { font-size: 12px; overflow: hidden; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; }
.tray .p { font-weight: 600; font-size: 12px; }
.card { position: absolute; right: 10px; top: 10px; bottom: 10px; width: min(320px, 46%); background: #fff; border-radius: 10px;
  box-shadow: 0 6px 28px rgba(0,0,0,.35); padding: 14px; overflow-y: auto; display: none; z-index: 3; }
.card.open { display: block; }
.card .close { position: absolute; right: 8px; top: 8px; border: 0; background: #eee; border-radius: 50%; width: 30px; height: 30px; cursor: pointer; font-size: 16px; }
.card img.main { width: 100%; aspect-ratio: 1; object-fit: contain; background: #f4f4f4; border-radius: 6px; }
.card h2 { font-size: 16px; margin: 8px 34px 4px 0; }
.card .price { font-size: 18px; font-weight: 700; }
.card .rating { color: #b06000; }
.card .avail { margin: 6px 0; font-weight: 600; }
.card .avail.in_stock { color: #137333; } .card .avail.out_of_stock { color: #c5221f; }
.card .stale { font-size: 12px; color: #8a5a00; background: #fff4d6; padding: 4px 6px; border-radius: 4px; }
.card a.buy, .card a.view, .card button.cart { display: block; width: 100%; text-align: center; background: var(--accent); color: #fff; text-decoration: none;
  padding: 10px; border: 0; border-radius: 8px; font: inherit; font-weight: 600; margin-top: 8px; cursor: pointer; }
.card a.view { background: #fff; color: var(--accent); border: 2px solid var(--accent); }
.card .added { margin-top: 6px; font-size: 12px; color: #137333; }
.card .alts { margin-top: 12px; }
.card .alts h3 { font-size: 13px; margin: 0 0 6px; }
.card .alt { display: flex; gap: 8px; align-items: center; padding: 6px; border: 1px solid #e3e3e3; border-radius: 8px; margin-bottom: 6px; color: inherit; text-decoration: none; }
.card .alt img { width: 44px; height: 44px; object-fit: cover; border-radius: 4px; }
.card .alt .badge { font-size: 11px; color: #137333; }
.notice { font-size: 12px; color: #8a5a00; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@container (max-width: 520px) {
  .card { left: 0; right: 0; top: auto; bottom: 0; width: auto; max-height: 72%; border-radius: 12px 12px 0 0; padding: 10px; }
  .card img.main { float: left; width: 84px; margin: 0 10px 6px 0; }
  .card h2 { font-size: 14px; margin-top: 2px; }
  .card .price { font-size: 16px; }
  .card a.buy, .card a.view, .card button.cart, .card .alts { clear: both; }
  .tray button { width: 170px; }
}
`;

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids) if (kid != null) e.append(kid);
  return e;
}

// safeURL resolves u against base (relative product images come from the
// vitrine server) and accepts only http(s) links.
function safeURL(u, base) {
  if (!u) return null;
  try {
    const p = new URL(u, base || document.baseURI);
    return p.protocol === 'http:' || p.protocol === 'https:' ? p.href : null;
  } catch { return null; }
}

// errorText reads the API's {"error": {"message": …}} for a notice.
async function errorText(r) {
  try {
    const b = await r.json();
    return b && b.error && b.error.message ? ` (${b.error.message})` : '';
  } catch { return ''; }
}

function fmtTime(s) {
  if (!isFinite(s)) s = 0;
  const m = Math.floor(s / 60), r = Math.floor(s % 60);
  return `${m}:${String(r).padStart(2, '0')}`;
}

// containRect is where a vw×vh picture lands in an ew×eh element with
// object-fit: contain: scaled to fit whole, centred, bars on the other axis.
// The console's review page draws its boxes with the same rule.
export function containRect(vw, vh, ew, eh) {
  const s = Math.min(ew / vw, eh / vh), w = vw * s, h = vh * s;
  return { x: (ew - w) / 2, y: (eh - h) / 2, w, h };
}

// boxAt interpolates an item's box at time t between its samples.
export function boxAt(item, t) {
  const b = item.boxes;
  if (!b || !b.length) return null;
  if (t <= b[0].t) return b[0];
  if (t >= b[b.length - 1].t) return b[b.length - 1];
  let lo = 0, hi = b.length - 1;
  while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (b[mid].t <= t) lo = mid; else hi = mid; }
  const a = b[lo], c = b[hi], f = (t - a.t) / ((c.t - a.t) || 1);
  return { t, x: a.x + (c.x - a.x) * f, y: a.y + (c.y - a.y) * f, w: a.w + (c.w - a.w) * f, h: a.h + (c.h - a.h) * f };
}

// shown says whether viewers see an item: not rejected by a reviewer, and
// published (documents made before statuses existed have none: published).
// Items that wait for a reviewer (needs_review) stay off the video.
export function shown(item) {
  return item.review !== 'rejected' && (!item.status || item.status === 'published');
}

// displayTitle is the name shoppers see: catalogs often carry an internal
// "Style name|Product title" string in one field; the product title is its
// last part.
export function displayTitle(title) {
  if (!title) return '';
  const parts = String(title).split('|').map((x) => x.trim()).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : '';
}

// placeChips finds a place for each name chip beside its dot, in order
// (best first): below, above, right or left of the dot, kept inside the
// w×h frame, overlapping no chip placed before and no other dot. spots
// are {x, y} dot centres; sizes are chip {w, h}. It returns one {x, y}
// (top-left) per chip, or null where no place is free.
export function placeChips(spots, sizes, w, h, dot = 30, gap = 4) {
  const placed = [];
  const dots = spots.map((p) => ({ x: p.x - dot / 2, y: p.y - dot / 2, w: dot, h: dot }));
  const hit = (a, b) => a.x < b.x + b.w + gap && b.x < a.x + a.w + gap && a.y < b.y + b.h + gap && b.y < a.y + a.h + gap;
  return spots.map((p, i) => {
    const { w: cw, h: ch } = sizes[i];
    if (cw > w || ch > h) return null;
    const r = dot / 2 + gap;
    const tries = [[p.x - cw / 2, p.y + r], [p.x - cw / 2, p.y - r - ch], [p.x + r, p.y - ch / 2], [p.x - r - cw, p.y - ch / 2]];
    for (const [x0, y0] of tries) {
      const c = { x: Math.min(Math.max(0, x0), w - cw), y: Math.min(Math.max(0, y0), h - ch), w: cw, h: ch };
      if (placed.some((o) => hit(c, o)) || dots.some((d) => hit(c, d))) continue;
      placed.push(c);
      return { x: c.x, y: c.y };
    }
    return null;
  });
}

// productOf is the product an item sells: a reviewer's choice, else the best match.
export function productOf(item) {
  if (item.review === 'rejected') return null;
  if (item.product_id) return item.product_id;
  return item.matches && item.matches.length ? item.matches[0].product_id : null;
}

class VitrinePlayer extends HTMLElement {
  static get observedAttributes() { return ['src', 'video', 'shoppable', 'key', 'api', 'poster', 'live']; }

  constructor() {
    super();
    this._doc = null;
    this._items = [];
    this._products = new Map();
    this._spots = new Map();
    this._seen = new Map();      // item id -> ms visible so far
    this._impressed = new Set(); // item ids already reported
    this._queue = [];
    this._session = Math.random().toString(36).slice(2, 12);
    this._raf = 0;
    this._lastTick = 0;
    this._opener = null;
    this._shotIndex = -2;
    this._build();
  }

  _build() {
    const root = this.attachShadow({ mode: 'open' });
    root.append(el('style', { text: CSS }));
    // No crossorigin attribute: the overlay never reads pixels, and CORS mode
    // would break videos hosted without CORS headers.
    this.$video = el('video', { part: 'video', playsinline: true, preload: 'metadata' });
    this.$layer = el('div', { class: 'layer', role: 'group', 'aria-label': 'Products on screen' });
    this.$card = el('div', { class: 'card', role: 'dialog', 'aria-modal': 'false', 'aria-label': 'Product', tabindex: '-1' });
    this.$stage = el('div', { class: 'stage', part: 'stage' }, this.$video, this.$layer, this.$card);
    this.$play = el('button', { type: 'button', class: 'play', 'aria-label': 'Play', onclick: () => this._togglePlay() }, icon('play'));
    this.$range = el('input', { type: 'range', min: '0', max: '0', step: '0.01', value: '0', 'aria-label': 'Seek' });
    this.$range.addEventListener('input', () => { this.$video.currentTime = Number(this.$range.value); });
    this.$range.addEventListener('pointerdown', () => { this._dragging = true; });
    this.$range.addEventListener('pointerup', () => { this._dragging = false; });
    this.$markers = el('div', { class: 'markers', 'aria-hidden': 'true' });
    this.$time = el('span', { class: 'time', text: '0:00 / 0:00' });
    this.$mute = el('button', { type: 'button', class: 'mute', 'aria-label': 'Mute', onclick: () => { this.$video.muted = !this.$video.muted; } }, icon('sound'));
    const bar = el('div', { class: 'bar', part: 'controls' }, this.$play, el('div', { class: 'seek' }, this.$markers, this.$range), this.$time, this.$mute);
    this.$tray = el('ul', { class: 'tray', part: 'tray', 'aria-label': 'Products in this shot', 'data-empty': 'No products in this shot' });
    this.$notice = el('div', { class: 'notice', role: 'status' });
    this.$live = el('div', { class: 'sr', 'aria-live': 'polite' });
    this.$root = el('div', { class: 'root' }, this.$stage, bar, this.$tray, this.$notice, this.$live);
    root.append(this.$root);

    const v = this.$video;
    v.addEventListener('loadedmetadata', () => { this._layout(); this._markers(); this._sync(); this._render(); });
    v.addEventListener('durationchange', () => { this._markers(); this._sync(); });
    v.addEventListener('play', () => { this.$root.classList.remove('paused'); this._sync(); this._loop(); });
    v.addEventListener('pause', () => { this.$root.classList.add('paused'); this._sync(); this._render(); this._announcePause(); });
    v.addEventListener('seeked', () => this._render());
    v.addEventListener('timeupdate', () => this._sync());
    v.addEventListener('volumechange', () => { this.$mute.replaceChildren(icon(v.muted ? 'muted' : 'sound')); this.$mute.setAttribute('aria-label', v.muted ? 'Unmute' : 'Mute'); });
    v.addEventListener('click', () => this._togglePlay());
    this.$root.classList.add('paused');
    this._ro = new ResizeObserver(() => { this._layout(); this._render(); });
    this._ro.observe(this.$stage);
    this.shadowRoot.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.$card.classList.contains('open')) { e.preventDefault(); this.closeCard(); }
    });
  }

  connectedCallback() {
    for (const a of ['autoplay', 'muted', 'loop']) if (this.hasAttribute(a)) this.$video[a] = true;
    this._onHide = () => { if (document.visibilityState === 'hidden') this._flush(true); };
    document.addEventListener('visibilitychange', this._onHide);
    window.addEventListener('pagehide', this._onHide);
    this._timer = setInterval(() => this._flush(false), FLUSH_MS);
    this._load();
  }

  disconnectedCallback() {
    document.removeEventListener('visibilitychange', this._onHide);
    window.removeEventListener('pagehide', this._onHide);
    clearInterval(this._timer);
    cancelAnimationFrame(this._raf);
    if (this._es) { this._es.close(); this._es = null; }
    if (this._hls) { this._hls.destroy(); this._hls = null; this._src = null; this._syncing = false; }
    this._flush(true);
  }

  attributeChangedCallback(name, old, val) {
    if (old === val || !this.isConnected) return;
    this._load();
  }

  get api() { return (this.getAttribute('api') || SCRIPT_ORIGIN).replace(/\/+$/, ''); }
  get key() { return this.getAttribute('key') || ''; }

  _url(path, params = {}) {
    const u = new URL(this.api + path);
    if (this.key) u.searchParams.set('key', this.key);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.href;
  }

  async _load() {
    const src = this.getAttribute('src');
    if (src && this._src !== src) this._setSource(src);
    if (this.hasAttribute('poster')) this.$video.poster = this.getAttribute('poster');
    const stream = this.getAttribute('live');
    if (stream) { this._startLive(stream); return; }
    if (this._es) { this._es.close(); this._es = null; }
    this._live = null;
    const id = this.getAttribute('video');
    const docURL = this.getAttribute('shoppable') || (id ? this._url(`/public/v1/videos/${encodeURIComponent(id)}/shoppable`) : null);
    if (!docURL) return;
    const gen = (this._gen = (this._gen || 0) + 1);
    try {
      const r = await fetch(docURL, { credentials: 'omit' });
      if (!r.ok) throw new Error(`shoppable document: HTTP ${r.status}${await errorText(r)}`);
      const doc = await r.json();
      if (gen !== this._gen) return;
      if (doc.schema !== 'vitrine.shoppable/v1') throw new Error(`unsupported document schema ${doc.schema}`);
      this._setDocument(doc);
      await this._loadProducts();
      if (gen !== this._gen) return;
      this._refresh();
      this.ready = true;
      this.dispatchEvent(new CustomEvent('vitrine-ready', { detail: { document: doc } }));
    } catch (err) {
      this._error(err.message || String(err));
    }
  }

  // _setSource plays src; an HLS playlist through hls.js where the browser
  // has Media Source Extensions. Native HLS comes second: Chromium 156
  // claims it (canPlayType 'maybe') but failed to parse a plain H.264
  // MPEG-TS live stream that hls.js plays.
  async _setSource(src) {
    this._src = src;
    this._ptsBase = null;
    if (this._hls) { this._hls.destroy(); this._hls = null; }
    const v = this.$video;
    const native = () => {
      if (HLS_TYPES.some((t) => v.canPlayType(t) !== '')) v.src = src;
      else this._error('this browser cannot play HLS streams');
    };
    this._syncing = false;
    if (!isHLS(src)) { v.src = src; return; }
    if (!window.MediaSource && !window.ManagedMediaSource) { native(); return; }
    // Live events wait for hls.js to tell the stream's clock (see _waits).
    this._syncing = true;
    let Hls;
    try {
      ({ default: Hls } = await import(HLS_JS));
    } catch (err) {
      this._syncing = false;
      this._error(`cannot load the HLS player: ${err.message || err}`);
      return;
    }
    if (this._src !== src) return; // another source was set meanwhile
    if (!Hls.isSupported()) { this._syncing = false; native(); return; }
    // A live-shopping stream plays live-delay seconds (default 4) behind
    // the newest segment: vitrine's events come about 2.5 s after the
    // broadcast and an item's end 1.5 s after that, so a player at the live
    // edge would get them after the picture has moved on.
    const delay = this.hasAttribute('live-delay') ? Number(this.getAttribute('live-delay')) : NaN;
    const sync = this.hasAttribute('live') ? (delay >= 0 && Number.isFinite(delay) ? delay : LIVE_DELAY_S) : null;
    const hls = new Hls(sync == null ? {} : { liveSyncDuration: sync, liveMaxLatencyDuration: sync + 6 });
    hls.on(Hls.Events.ERROR, (_, d) => {
      if (!d.fatal) return;
      this._syncing = false; // live events show as they come
      this._error(`stream: ${d.details}`);
    });
    // The source's PTS at media time 0: live events carry their frame's
    // PTS, so they can wait for the picture they describe.
    hls.on(Hls.Events.INIT_PTS_FOUND, (_, d) => { this._ptsBase = d.initPTS / d.timescale; });
    hls.loadSource(src);
    hls.attachMedia(v);
    this._hls = hls;
  }

  // _startLive follows a live stream's events: item.start and item.update
  // put the item on screen at its latest box (with the product details the
  // event carries), item.end takes it off. EventSource reconnects by itself
  // with the last event id, so a dropped connection misses nothing.
  //
  // The analysis is a few seconds behind the broadcast, and so is a
  // player's buffered picture, by its own amount: an event that carries
  // its frame's PTS waits until the video shows that frame (when hls.js
  // plays the stream and tells the PTS of media time 0), so a hotspot comes
  // and goes with its product rather than over the shot before it.
  _startLive(stream) {
    if (this._es) this._es.close();
    this._live = new Map();
    this._pending = [];
    this._doc = { schema: 'vitrine.shoppable/v1', video: {}, shots: [], items: [] };
    this._items = [];
    const es = new EventSource(this._url(`/public/v1/live/${encodeURIComponent(stream)}/events`));
    this._es = es;
    const apply = (e) => {
      let d;
      try { d = JSON.parse(e.data); } catch { return; }
      if (!d.item || !d.item.id) return;
      // Later events wait behind earlier ones: an item's start, updates
      // and end keep their order.
      if (this._pending.length || this._waits(d.item)) {
        this._pending.push({ type: e.type, d });
        if (this._pending.length > LIVE_PENDING_MAX) this._applyLive(this._pending.shift());
        return;
      }
      this._applyLive({ type: e.type, d });
      this._render();
    };
    for (const t of ['item.start', 'item.update', 'item.end']) es.addEventListener(t, apply);
    // The stream's end waits behind its last items: the video still has
    // seconds of picture to show.
    es.addEventListener('stream.end', () => {
      es.close();
      this._pending.push({ type: 'stream.end' });
      this._render();
    });
    if (!this.ready) {
      this.ready = true;
      this.dispatchEvent(new CustomEvent('vitrine-ready', { detail: { document: this._doc, live: stream } }));
    }
  }

  // _waits reports whether a live event's item must wait for the video to
  // reach its frame: its PTS is ahead of the picture, or hls.js has not
  // yet told which PTS media time 0 is (an event can arrive before the
  // first segment is parsed). An event without a PTS, or whose clock is
  // further from the video's than a player buffers, shows at once.
  _waits(item) {
    if (!(item.pts > 0)) return false;
    if (this._ptsBase == null) return !!this._syncing;
    const ahead = item.pts - this._ptsBase - this.$video.currentTime;
    return ahead > LIVE_SLACK_S && ahead < LIVE_MAX_SKEW_S;
  }

  // _applyLive puts a live event's item on screen, moves it or takes it off.
  _applyLive({ type, d }) {
    if (type === 'stream.end') {
      this._live.clear();
      this._items = [];
      this.dispatchEvent(new CustomEvent('vitrine-live-end'));
      return;
    }
    const it = d.item;
    if (type === 'item.end') {
      this._live.delete(it.id);
    } else if (it.box) {
      const item = { ...it, review: 'auto', status: 'published', boxes: [it.box] };
      const pid = productOf(item);
      if (d.product && pid) this._products.set(pid, d.product);
      const old = this._live.get(it.id);
      if (old) Object.assign(old, item); else this._live.set(it.id, item);
    }
    this._items = [...this._live.values()];
  }

  // _drainLive applies the waiting live events whose frame the video shows.
  _drainLive() {
    while (this._pending.length) {
      const head = this._pending[0];
      if (head.type !== 'stream.end' && this._waits(head.d.item)) break;
      this._applyLive(this._pending.shift());
    }
  }

  _error(msg) {
    this.$notice.textContent = `Shopping is unavailable: ${msg}`;
    this.dispatchEvent(new CustomEvent('vitrine-error', { detail: { message: msg } }));
  }

  // _refresh rebuilds everything that shows product details.
  _refresh() {
    for (const s of this._spots.values()) { s.spot.remove(); s.box.remove(); s.chip.remove(); }
    this._spots.clear();
    this._shotIndex = -2;
    this._markers();
    this._render();
  }

  _setDocument(doc) {
    this.ready = false;
    this._doc = doc;
    this._items = (doc.items || []).filter((it) => shown(it) && productOf(it) && it.boxes && it.boxes.length)
      .sort((a, b) => a.start_s - b.start_s);
    for (const s of this._spots.values()) { s.spot.remove(); s.box.remove(); s.chip.remove(); }
    this._spots.clear();
    this._shotIndex = -2;
    const v = doc.video || {};
    if (v.width && v.height) this.$stage.style.aspectRatio = `${v.width} / ${v.height}`;
    this._markers();
    this._sync(); // the document's duration until the media says otherwise
  }

  async _loadProducts() {
    const ids = [...new Set(this._items.map(productOf))];
    const gone = new Set();
    for (let i = 0; i < ids.length; i += 100) {
      const chunk = ids.slice(i, i + 100);
      try {
        const r = await fetch(this._url('/public/v1/products', { ids: chunk.join(',') }), { credentials: 'omit' });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const d = await r.json();
        for (const p of d.products || []) {
          this._products.set(p.id, p);
          if (p.removed) gone.add(p.id);
        }
        for (const id of d.missing || []) gone.add(id);
      } catch (err) {
        this.$notice.textContent = 'Product details are unavailable right now.';
      }
    }
    // The shop no longer sells these (a feed sync removed them, or it does
    // not know them): their items are not drawn. vitrine's own documents
    // leave them out already; a copy of a document served from elsewhere
    // may still hold them.
    if (gone.size) this._items = this._items.filter((it) => !gone.has(productOf(it)));
  }

  // _layout fits the overlay to the picture inside the letterboxed video.
  _layout() {
    const v = this.$video, sw = this.$stage.clientWidth, sh = this.$stage.clientHeight;
    const vw = v.videoWidth || (this._doc && this._doc.video && this._doc.video.width) || sw;
    const vh = v.videoHeight || (this._doc && this._doc.video && this._doc.video.height) || sh;
    if (!sw || !sh || !vw || !vh) return;
    const r = containRect(vw, vh, sw, sh);
    Object.assign(this.$layer.style, { left: `${r.x}px`, top: `${r.y}px`, width: `${r.w}px`, height: `${r.h}px` });
  }

  _duration() {
    const d = this.$video.duration;
    return isFinite(d) && d > 0 ? d : (this._doc && this._doc.video && this._doc.video.duration_s) || 0;
  }

  _markers() {
    const d = this._duration();
    this.$markers.replaceChildren();
    this.$range.max = String(d || 0);
    if (!d) return;
    let last = -1;
    for (const it of this._items) {
      const pos = (it.start_s / d) * 100;
      if (pos - last < 0.6) continue; // keep markers apart
      last = pos;
      this.$markers.append(el('span', { class: 'marker', style: `left:${pos}%`, 'data-item': it.id, title: `${this._title(it)} at ${fmtTime(it.start_s)}` }));
    }
  }

  _title(it) {
    const p = this._products.get(productOf(it));
    return (p && displayTitle(p.title)) || it.label;
  }

  _cap() {
    const n = parseInt(this.getAttribute('max-hotspots'), 10);
    return n >= 1 ? n : DEFAULT_MAX_HOTSPOTS;
  }

  _price(p) {
    if (!p || p.price == null) return '';
    const locale = this.getAttribute('locale') || document.documentElement.lang || navigator.language;
    try {
      return new Intl.NumberFormat(locale, { style: 'currency', currency: p.currency || 'USD' }).format(p.price);
    } catch {
      return `${p.price} ${p.currency || ''}`.trim();
    }
  }

  _togglePlay() {
    if (this.$video.paused) this.$video.play().catch((e) => { this.$notice.textContent = `Cannot play: ${e.message}`; });
    else this.$video.pause();
  }

  _sync() {
    const v = this.$video, d = this._duration();
    const playing = !v.paused;
    if (this.$play.dataset.state !== String(playing)) {
      this.$play.dataset.state = String(playing);
      this.$play.replaceChildren(icon(playing ? 'pause' : 'play'));
      this.$play.setAttribute('aria-label', playing ? 'Pause' : 'Play');
    }
    if (!this._dragging) this.$range.value = String(v.currentTime);
    this.$range.setAttribute('aria-valuetext', `${fmtTime(v.currentTime)} of ${fmtTime(d)}`);
    this.$time.textContent = `${fmtTime(v.currentTime)} / ${fmtTime(d)}`;
  }

  _loop() {
    cancelAnimationFrame(this._raf);
    const tick = () => {
      this._render();
      if (!this.$video.paused && !this.$video.ended) this._raf = requestAnimationFrame(tick);
    };
    this._raf = requestAnimationFrame(tick);
  }

  // visibleAt returns the items on screen at time t with their boxes, best
  // match first, at most max-hotspots of them. Two tracks of one product on
  // top of each other (a person and their shirt, both matched to the shirt)
  // get one hotspot: the better match.
  visibleAt(t) {
    if (this._live) {
      // A live item is where it was last seen: its stream time is not the
      // video element's.
      const on = this._items.map((it) => ({ item: it, box: it.boxes[it.boxes.length - 1] }));
      on.sort((a, b) => (b.item.confidence || 0) - (a.item.confidence || 0));
      return on.slice(0, this._cap());
    }
    const on = [];
    for (const it of this._items) {
      if (t < it.start_s || t > it.end_s) continue;
      const b = boxAt(it, t);
      if (b) on.push({ item: it, box: b });
    }
    const score = (it) => (it.product_id ? 2 : it.matches[0].score);
    on.sort((a, b) => score(b.item) - score(a.item)); // stable: ties keep document order
    const inside = (a, b) => {
      const cx = a.x + a.w / 2, cy = a.y + a.h / 2;
      return cx >= b.x && cx <= b.x + b.w && cy >= b.y && cy <= b.y + b.h;
    };
    const kept = [];
    for (const v of on) {
      const pid = productOf(v.item);
      if (!kept.some((k) => productOf(k.item) === pid && (inside(v.box, k.box) || inside(k.box, v.box)))) kept.push(v);
    }
    return kept.slice(0, this._cap());
  }

  _render() {
    if (!this._doc) return;
    if (this._pending && this._pending.length) this._drainLive();
    const t = this.$video.currentTime;
    const vis = this.visibleAt(t);
    const shown = new Set();
    for (const { item, box } of vis) {
      shown.add(item.id);
      let s = this._spots.get(item.id);
      if (!s) s = this._makeSpot(item);
      const cx = (box.x + box.w / 2) * 100, cy = (box.y + box.h / 2) * 100;
      s.spot.style.left = `${cx}%`; s.spot.style.top = `${cy}%`;
      Object.assign(s.box.style, { left: `${box.x * 100}%`, top: `${box.y * 100}%`, width: `${box.w * 100}%`, height: `${box.h * 100}%` });
      if (!s.spot.isConnected) this._insert(item, s);
    }
    for (const [id, s] of this._spots) {
      if (!shown.has(id) && s.spot.isConnected) { s.spot.remove(); s.box.remove(); s.chip.remove(); }
    }
    if (this.$root.classList.contains('paused')) this._placeChips(vis);
    this._tray(t);
    this._track(shown);
  }

  // _placeChips lays out the name chips of a paused frame so that none
  // overlaps another chip or dot or leaves the picture; a chip with no
  // free place shows only while its dot is hovered or focused.
  _placeChips(vis) {
    const W = this.$layer.clientWidth, H = this.$layer.clientHeight;
    if (!W || !H) return;
    const spots = [], sizes = [], chips = [];
    for (const { item, box } of vis) {
      const s = this._spots.get(item.id);
      if (!s) continue;
      s.chip.classList.remove('nofit');
      spots.push({ x: (box.x + box.w / 2) * W, y: (box.y + box.h / 2) * H });
      sizes.push({ w: s.chip.offsetWidth, h: s.chip.offsetHeight });
      chips.push(s.chip);
    }
    placeChips(spots, sizes, W, H).forEach((pos, i) => {
      const c = chips[i];
      if (pos) {
        c.style.left = `${pos.x}px`; c.style.top = `${pos.y}px`;
        return;
      }
      // Hover or focus shows it below its dot, kept inside the frame.
      const { x, y } = spots[i], { w, h } = sizes[i];
      c.style.left = `${Math.min(Math.max(0, x - w / 2), Math.max(0, W - w))}px`;
      c.style.top = `${Math.min(y + 19, Math.max(0, H - h))}px`;
      c.classList.add('nofit');
    });
  }

  // _insert keeps hotspots in document order, so Tab visits them in the
  // same order whatever was on screen before.
  _insert(item, s) {
    const idx = this._items.indexOf(item);
    let before = null;
    for (let i = idx + 1; i < this._items.length && !before; i++) {
      const o = this._spots.get(this._items[i].id);
      if (o && o.box.isConnected) before = o.box;
    }
    for (const n of [s.box, s.spot, s.chip]) this.$layer.insertBefore(n, before);
  }

  _makeSpot(item) {
    const pid = productOf(item), p = this._products.get(pid);
    const name = this._title(item);
    const open = () => this.openCard(item);
    const spot = el('button', { type: 'button', class: 'hotspot', part: 'hotspot', 'data-item': item.id, 'data-product': pid,
      'aria-label': `Shop ${name}${p ? ', ' + this._price(p) : ''}`, text: '+', onclick: open });
    const chip = el('button', { type: 'button', class: 'chip', tabindex: '-1', 'aria-hidden': 'true', 'data-item': item.id,
      text: p ? `${name} · ${this._price(p)}` : name, onclick: open });
    const box = el('div', { class: 'box', 'data-item': item.id });
    const s = { spot, chip, box };
    this._spots.set(item.id, s);
    return s;
  }

  _shotAt(t) {
    const shots = (this._doc && this._doc.shots) || [];
    for (const s of shots) if (t >= s.start_s && t < s.end_s) return s.index;
    return shots.length ? shots[shots.length - 1].index : -1;
  }

  _tray(t) {
    const shot = this._shotAt(t);
    if (shot === this._shotIndex) return;
    this._shotIndex = shot;
    const seen = new Set();
    const lis = [];
    for (const it of this._items) {
      const pid = productOf(it);
      if (it.shot !== shot || seen.has(pid)) continue;
      seen.add(pid);
      const p = this._products.get(pid);
      const img = p && p.images && p.images[0] ? safeURL(p.images[0], this.api + '/') : null;
      lis.push(el('li', {}, el('button', { type: 'button', 'data-product': pid, onclick: () => this.openCard(it) },
        img ? el('img', { src: img, alt: '' }) : el('img', { alt: '' }),
        el('span', {}, el('span', { class: 't', text: this._title(it) }), el('br'), el('span', { class: 'p', text: this._price(p) })))));
    }
    this.$tray.replaceChildren(...lis);
    if (lis.length) this._say(`${lis.length} product${lis.length > 1 ? 's' : ''} in this shot`);
  }

  _announcePause() {
    const n = this.visibleAt(this.$video.currentTime).length;
    if (n) this._say(`Paused. ${n} item${n > 1 ? 's' : ''} to shop in this frame; press Tab to reach them.`);
  }

  _say(msg) { this.$live.textContent = msg; }

  // _track accumulates on-screen time per item and reports an impression
  // once an item has been visible for a second.
  _track(shown) {
    const now = performance.now();
    const dt = this._lastTick ? Math.min(now - this._lastTick, 250) : 0;
    this._lastTick = now;
    if (document.visibilityState !== 'visible') return;
    for (const id of shown) {
      if (this._impressed.has(id)) continue;
      const ms = (this._seen.get(id) || 0) + dt;
      this._seen.set(id, ms);
      if (ms >= IMPRESSION_MS) {
        this._impressed.add(id);
        const it = this._items.find((x) => x.id === id);
        this._event('impression', it);
      }
    }
    if (this.$video.paused && [...shown].some((id) => !this._impressed.has(id))) {
      // A paused video draws no frames: keep the clock going for impressions.
      clearTimeout(this._idle);
      this._idle = setTimeout(() => this._render(), 250);
    }
  }

  _event(type, item, productId) {
    // Without a key there is nowhere to send events; never queue unbounded.
    if (!this._doc || !item || !this.key || this._queue.length >= 500) return;
    this._queue.push({ type, video: this._doc.video.id, item: item.id, product: productId || productOf(item) || undefined,
      t: Math.round(this.$video.currentTime * 1000) / 1000, session: this._session });
    if (this._queue.length >= 50) this._flush(false);
  }

  _flush(final) {
    if (!this._queue.length || !this.key) return;
    const batch = this._queue.splice(0, 100);
    const url = this._url('/public/v1/events');
    const body = JSON.stringify({ events: batch });
    // text/plain keeps this a simple CORS request: no preflight.
    let sent = false;
    if (navigator.sendBeacon) {
      try { sent = navigator.sendBeacon(url, new Blob([body], { type: 'text/plain' })); } catch { sent = false; }
    }
    if (!sent) {
      fetch(url, { method: 'POST', body, keepalive: true, credentials: 'omit', headers: { 'Content-Type': 'text/plain' } }).catch(() => {});
    }
    if (this._queue.length && !final) this._flush(false);
  }

  openCard(item) {
    const pid = productOf(item);
    const p = this._products.get(pid);
    this._opener = this.shadowRoot.activeElement;
    if (!this.$video.paused) this.$video.pause();
    this._event('click', item);
    const card = this.$card;
    const title = this._title(item);
    const kids = [el('button', { type: 'button', class: 'close', 'aria-label': 'Close', text: '✕', onclick: () => this.closeCard() })];
    const img = p && p.images && p.images[0] ? safeURL(p.images[0], this.api + '/') : null;
    if (img) kids.push(el('img', { class: 'main', src: img, alt: title }));
    kids.push(el('h2', { id: 'card-title', text: title }));
    if (p) {
      if (p.price != null) kids.push(el('div', { class: 'price', text: this._price(p) }));
      if (p.rating != null) {
        const r = Math.round(p.rating * 10) / 10, full = Math.min(5, Math.max(0, Math.floor(p.rating)));
        kids.push(el('div', { class: 'rating', 'aria-label': `Rated ${r} out of 5${p.rating_count ? ` by ${p.rating_count} reviewers` : ''}`,
          text: `${'★'.repeat(full)}${'☆'.repeat(Math.max(0, 5 - full))} ${r}${p.rating_count ? ` (${p.rating_count})` : ''}` }));
      }
      const avail = { in_stock: 'In stock', out_of_stock: 'Out of stock', preorder: 'Pre-order' }[p.availability] || 'Availability unknown';
      kids.push(el('div', { class: `avail ${p.availability}`, text: avail }));
      if (p.stale) kids.push(el('div', { class: 'stale', text: 'Shown from the last update; price and stock may have changed.' }));
      // A buy path always: the shop's page when the product has one (to
      // buy, or to look at when sold out), else the host page's cart.
      const buy = safeURL(p.url);
      if (buy && p.availability !== 'out_of_stock') {
        kids.push(el('a', { class: 'buy', href: buy, target: '_blank', rel: 'noopener', text: 'Buy now',
          onclick: () => this._event('buy', item, p.id) }));
      } else if (buy) {
        kids.push(el('a', { class: 'view', href: buy, target: '_blank', rel: 'noopener', text: 'View product' }));
      } else if (p.availability !== 'out_of_stock') {
        const done = el('div', { class: 'added', role: 'status' });
        kids.push(el('button', { type: 'button', class: 'cart', text: 'Add to cart', onclick: () => {
          this._addToCart(item, p);
          done.textContent = `Added ${title} to the cart.`;
        } }), done);
      }
      if (p.alternatives && p.alternatives.length) {
        const list = el('div', { class: 'alts', role: 'group', 'aria-label': 'Similar products in stock' }, el('h3', { text: 'Similar, in stock' }));
        for (const a of p.alternatives) {
          const aimg = a.images && a.images[0] ? safeURL(a.images[0], this.api + '/') : null;
          const href = safeURL(a.url);
          list.append(el(href ? 'a' : 'div', { class: 'alt', href, target: href ? '_blank' : null, rel: href ? 'noopener' : null,
            'data-product': a.id, onclick: () => this._event('buy', item, a.id) },
            aimg ? el('img', { src: aimg, alt: '' }) : null,
            el('span', {}, el('span', { text: displayTitle(a.title) || a.id }), el('br'), el('strong', { text: this._price(a) }), ' ',
              el('span', { class: 'badge', text: 'Alternative' }))));
        }
        kids.push(list);
      }
    } else {
      kids.push(el('p', { text: 'Product details are unavailable right now.' }));
    }
    card.replaceChildren(...kids);
    card.setAttribute('aria-labelledby', 'card-title');
    card.dataset.product = pid;
    card.dataset.item = item.id;
    card.classList.add('open');
    card.querySelector('.close').focus();
    this._say(`${title}${p && p.price != null ? ', ' + this._price(p) : ''}. Press Escape to close.`);
    this.dispatchEvent(new CustomEvent('vitrine-product', { detail: { product: p || null, item } }));
  }

  // _addToCart hands a product without a link to the host page's cart:
  // the vitrine:add-to-cart event bubbles out of the element (composed, so
  // it leaves the shadow root) with what a cart needs to add the line.
  _addToCart(item, p) {
    this._event('add_to_cart', item, p.id);
    const t = Math.round(this.$video.currentTime * 1000) / 1000;
    this.dispatchEvent(new CustomEvent(ADD_TO_CART, { bubbles: true, composed: true, detail: {
      product_id: p.id, video_id: this._doc.video.id, item_id: item.id, t,
      product: { id: p.id, title: displayTitle(p.title), price: p.price, currency: p.currency },
    } }));
  }

  closeCard() {
    this.$card.classList.remove('open');
    const back = this._opener;
    this._opener = null;
    if (back && back.isConnected) back.focus();
  }
}

if (!customElements.get('vitrine-player')) customElements.define('vitrine-player', VitrinePlayer);
export { VitrinePlayer };
