// The brandpulse dashboard: polls the JSON endpoints of docs/dashboard-api.md and renders one
// card per brand (trend charts, SLA figures, the ad-comment crisis timeline with the kill-switch
// state and a resume button, value realization per day) and the alerts table.
//
// Rendering is keyed: a card is found by its brand_id, an ad's timeline by its ad_id, and every
// table body is replaced whole in one step, so a row or card can never appear twice. Refreshes
// never overlap: the next one is scheduled only when the previous one has finished. An endpoint
// that is missing (404) or failing shows "no data yet" where its figures would be.
//
// The API token lives only in the password field: it is read when Resume is pressed and sent in
// the Authorization header, never put in the URL or in any storage.
'use strict';
(() => {
  const POLL_MS = 3000;
  const FETCH_TIMEOUT_MS = 10000;
  const NO_DATA = 'no data yet';
  const COLOR = {
    mentions: '#3b6fd8', negative: '#d1495b', sentiment: '#7b3fc4', comments: '#3b6fd8',
    windowComments: '#1d3f80', negShare: '#d1495b', riskShare: '#e08a00',
    alert: '#d1495b', resolved: '#6b7280', pause: '#111827', resume: '#1f9d55',
  };

  // ---- small helpers ------------------------------------------------------------------------

  const $ = (sel, root = document) => root.querySelector(sel);

  /** An element with attributes (`text` sets its text, `class` its class) and children. */
  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    e.append(...children.filter((c) => c != null));
    return e;
  }

  const pad = (n) => String(n).padStart(2, '0');
  function fmtTime(ms) {
    if (ms == null) return '—';
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  }
  const fmtDay = (ms) => (ms == null ? '—' : fmtTime(ms).slice(0, 10));
  const fmtClock = (ms) => (ms == null ? '—' : fmtTime(ms).slice(11, 16));
  const fmtShare = (x) => (x == null ? '—' : `${(x * 100).toFixed(1)} %`);
  const fmtInt = (x) => (x == null ? '—' : String(x));
  const fmtFixed = (x, digits) => (x == null ? '—' : Number(x).toFixed(digits));
  const fmtSigned = (x) => (x == null ? '—' : `${x > 0 ? '+' : ''}${Number(x).toFixed(3)}`);
  function fmtSecs(s) {
    if (s == null) return '—';
    if (s < 120) return `${Math.round(s)} s`;
    if (s < 7200) return `${(s / 60).toFixed(1)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  }
  const fmtMinutes = (m) => (m == null ? '—' : `${Number(m).toFixed(1)} min`);

  /** GET `path` as JSON: `{ok: true, data}` or `{ok: false, status}` (0: network error, time-out). */
  async function getJSON(path) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
    try {
      const r = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store', signal: ctl.signal });
      if (!r.ok) return { ok: false, status: r.status };
      return { ok: true, data: await r.json() };
    } catch (e) {
      return { ok: false, status: 0, error: e.name === 'AbortError' ? 'timed out' : String(e.message || e) };
    } finally {
      clearTimeout(timer);
    }
  }
  const listOf = (r) => (r && r.ok && Array.isArray(r.data) ? r.data : []);

  // ---- charts (uPlot) -------------------------------------------------------------------------

  const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');

  /** An x range padded by half a step each side (bars stay inside), and a usable one for one point. */
  const xRange = (step) => (u, min, max) =>
    (min == null ? [0, step] : [min - step / 2, max + step / 2]);

  /**
   * Vertical markers drawn over the plot: `get()` returns `[{t (s), label, color}]`. A marker
   * outside the x range is drawn dashed at the edge, its label with an arrow.
   */
  function markersPlugin(get) {
    return {
      hooks: {
        draw: (u) => {
          const marks = get();
          if (!marks.length || u.scales.x.min == null) return;
          const { ctx } = u;
          const r = uPlot.pxRatio;
          const { left, top, width, height } = u.bbox;
          ctx.save();
          ctx.font = `${11 * r}px system-ui, sans-serif`;
          ctx.textBaseline = 'top';
          marks.forEach((m, i) => {
            let t = m.t;
            let arrow = '';
            if (t < u.scales.x.min) { t = u.scales.x.min; arrow = '← '; }
            if (t > u.scales.x.max) { t = u.scales.x.max; arrow = ' →'; }
            const x = Math.round(u.valToPos(t, 'x', true));
            ctx.strokeStyle = m.color;
            ctx.fillStyle = m.color;
            ctx.lineWidth = 2 * r;
            ctx.setLineDash(arrow ? [4 * r, 4 * r] : []);
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            const label = arrow === '← ' ? arrow + m.label : m.label + arrow;
            const w = ctx.measureText(label).width;
            const lx = x + 4 * r + w > left + width ? x - 4 * r - w : x + 4 * r;
            ctx.fillText(label, lx, top + (2 + 13 * (i % 4)) * r);
          });
          ctx.restore();
        },
      },
    };
  }

  /**
   * A chart in `fig` (a <figure> with a .plot div): uPlot is created when the figure first has a
   * width and data, and follows its width. `set(xs, ys, marks)` replaces the data; the figure's
   * `data-points` attribute says how many x values it holds (the e2e test reads it).
   */
  class Chart {
    constructor(fig, opts, height) {
      this.fig = fig;
      this.plot = $('.plot', fig);
      this.empty = $('.empty', fig);
      this.opts = opts;
      this.height = height;
      this.marks = [];
      this.u = null;
      this.data = null;
      this.plot.style.minHeight = `${height}px`;
      this.resizer = new ResizeObserver(() => this.fit());
      this.resizer.observe(this.plot);
    }
    fit() {
      const width = Math.floor(this.plot.clientWidth);
      // No uPlot before the figure has a width and the first data point (empty axes say nothing).
      if (width <= 0 || !this.data || (!this.u && this.data[0].length === 0)) return;
      if (!this.u) {
        const opts = { ...this.opts, width, height: this.height, tzDate: utc };
        opts.plugins = [markersPlugin(() => this.marks), ...(opts.plugins || [])];
        this.u = new uPlot(opts, this.data, this.plot);
      } else if (this.u.width !== width) {
        this.u.setSize({ width, height: this.height });
      }
    }
    set(data, marks = []) {
      this.data = data;
      this.marks = marks;
      const n = data[0].length;
      this.fig.dataset.points = String(n);
      this.empty.hidden = n > 0;
      if (this.u) this.u.setData(data);
      else this.fit();
    }
    destroy() {
      this.resizer.disconnect();
      if (this.u) this.u.destroy();
    }
  }

  /** A <figure> for a chart: caption, plot area, "no data yet" note. */
  function figure(kind, caption, label) {
    return el('figure', { class: 'chart', 'data-chart': kind, 'data-points': '0', role: 'img', 'aria-label': label },
      el('figcaption', { text: caption }),
      el('div', { class: 'plot' }),
      el('p', { class: 'empty overlay', text: NO_DATA }));
  }

  const barPaths = () => uPlot.paths.bars({ size: [0.7, 28], align: 0 });

  /** The time axis in UTC, 24-hour clock; with the date when the range spans more than a day. */
  // (New objects for every chart: uPlot keeps state in its option objects.)
  const timeAxis = () => ({
    values: (u, splits) => {
      const long = u.scales.x.max - u.scales.x.min > 86400;
      return splits.map((s) => (long ? fmtTime(s * 1000).slice(5, 16) : fmtClock(s * 1000)));
    },
  });
  /** Series names only (no live values): the legend stays one short line. */
  const legend = () => ({ live: false });

  function volumeOpts(step) {
    return {
      scales: { x: { time: true, range: xRange(step) }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      series: [
        {},
        { label: 'mentions', stroke: COLOR.mentions, fill: `${COLOR.mentions}99`, paths: barPaths(), points: { show: false } },
        { label: 'negative', stroke: COLOR.negative, fill: `${COLOR.negative}cc`, paths: barPaths(), points: { show: false } },
      ],
      axes: [timeAxis(), { size: 44 }],
      legend: legend(),
    };
  }

  function sentimentOpts(step) {
    return {
      scales: { x: { time: true, range: xRange(step) }, y: { range: [-1, 1] } },
      series: [
        {},
        { label: 'average sentiment', stroke: COLOR.sentiment, width: 2, spanGaps: true, points: { show: true, size: 6, fill: COLOR.sentiment } },
      ],
      axes: [timeAxis(), { size: 44 }],
      legend: legend(),
    };
  }

  function crisisOpts() {
    return {
      scales: {
        x: { time: true, range: xRange(60) },
        n: { range: (u, min, max) => [0, Math.max(1, max)] },
        share: { range: [0, 1] },
      },
      series: [
        {},
        { label: 'comments / min', scale: 'n', stroke: COLOR.comments, fill: `${COLOR.comments}66`, paths: barPaths(), points: { show: false } },
        { label: 'comments (10 min)', scale: 'n', stroke: COLOR.windowComments, width: 1.5, spanGaps: true, points: { show: false } },
        { label: 'negative share (10 min)', scale: 'share', stroke: COLOR.negShare, width: 2, spanGaps: true, points: { show: true, size: 4, fill: COLOR.negShare } },
        { label: 'risky share (10 min)', scale: 'share', stroke: COLOR.riskShare, width: 2, dash: [6, 3], spanGaps: true, points: { show: true, size: 4, fill: COLOR.riskShare } },
      ],
      legend: legend(),
      axes: [
        timeAxis(),
        { scale: 'n', size: 36 },
        { scale: 'share', side: 1, size: 44, grid: { show: false }, values: (u, vals) => vals.map((v) => `${Math.round(v * 100)}%`) },
      ],
    };
  }

  // ---- one brand's card -----------------------------------------------------------------------

  let serial = 0;

  const KPIS = [
    ['mentions', 'Mentions', (o) => fmtInt(o.mentions)],
    ['sentiment_avg', 'Avg sentiment', (o) => fmtSigned(o.sentiment_avg)],
    ['negative_share', 'Negative share', (o) => fmtShare(o.negative_share)],
    ['sla_attainment', 'SLA attainment', (o) => fmtShare(o.sla_attainment)],
    ['frt_p50_seconds', 'FRT p50', (o) => fmtSecs(o.frt_p50_seconds)],
    ['frt_p90_seconds', 'FRT p90', (o) => fmtSecs(o.frt_p90_seconds)],
    ['open_cases', 'Open cases', (o) => fmtInt(o.open_cases)],
    ['open_breaches', 'Open breaches', (o) => fmtInt(o.open_breaches)],
    ['unanswered_breaches', 'Unanswered', (o) => fmtInt(o.unanswered_breaches)],
    ['answered_share', 'Answered share', (o) => fmtShare(o.answered_share)],
    ['active_crises', 'Active crises', (o) => fmtInt(o.active_crises)],
  ];

  const VALUE_COLUMNS = [
    ['day', 'day', (v) => fmtDay(v.day)],
    ['mentions', 'mentions', (v) => fmtInt(v.mentions)],
    ['negative_share', 'negative', (v) => fmtShare(v.negative_share)],
    ['avg_sentiment', 'avg sentiment', (v) => fmtSigned(v.avg_sentiment)],
    ['cases_opened', 'cases opened', (v) => fmtInt(v.cases_opened)],
    ['first_responses', 'first responses', (v) => fmtInt(v.first_responses)],
    ['sla_attainment', 'SLA attainment', (v) => fmtShare(v.sla_attainment)],
    ['median_frt_seconds', 'median FRT', (v) => fmtSecs(v.median_frt_seconds)],
    ['answered_share', 'answered', (v) => fmtShare(v.answered_share)],
    ['crises', 'crises', (v) => fmtInt(v.crises)],
    ['pauses', 'pauses', (v) => fmtInt(v.pauses)],
    ['minutes_to_pause', 'onset → pause', (v) => fmtMinutes(v.minutes_to_pause)],
    ['spend_protected', 'spend protected', (v) => fmtFixed(v.spend_protected, 2)],
  ];

  const CASE_COLUMNS = [
    ['case_id', 'case', (c) => c.case_id],
    ['priority', 'priority', (c) => c.priority],
    ['channel', 'channel', (c) => c.channel],
    ['opened_at', 'opened', (c) => fmtTime(c.opened_at)],
    ['sla_target_seconds', 'SLA target', (c) => fmtSecs(c.sla_target_seconds)],
    ['sla_status', 'status', (c) => c.sla_status],
    ['first_response_at', 'first response', (c) => fmtTime(c.first_response_at)],
  ];

  function table(columns, label) {
    return el('table', { 'aria-label': label },
      el('thead', {}, el('tr', {}, ...columns.map(([, head]) => el('th', { scope: 'col', text: head })))),
      el('tbody'));
  }

  /** Replaces a table's rows in one step: `key(row)` names the data attribute that identifies a row. */
  function fillTable(tbl, columns, rows, keyAttr, key) {
    $('tbody', tbl).replaceChildren(...rows.map((r) =>
      el('tr', { [keyAttr]: key(r) }, ...columns.map(([, , f]) => el('td', { text: f(r) })))));
  }

  class BrandCard {
    constructor(id) {
      this.id = id;
      const n = ++serial;
      this.n = n;
      this.resuming = false;
      this.ads = new Map();
      this.titleEl = el('h2', { id: `card-${n}-title` });
      this.stateEl = el('span', { class: 'state', 'data-role': 'state' });
      this.pauseEl = el('p', { class: 'pause-info' });
      this.resumeBtn = el('button', { type: 'button', class: 'resume', text: 'Resume publishing' });
      this.resumeBtn.addEventListener('click', () => this.resume());
      this.resumeMsg = el('span', { class: 'resume-msg', role: 'status', 'aria-live': 'polite' });
      this.kpiEls = new Map();
      const kpis = el('dl', { class: 'kpis' }, ...KPIS.map(([key, label]) => {
        const dd = el('dd', { 'data-kpi': key, text: '—' });
        this.kpiEls.set(key, dd);
        return el('div', { class: 'kpi' }, el('dt', { text: label }), dd);
      }));
      this.rangeEl = el('p', { class: 'range' });

      const radios = ['minute', 'hour'].map((res) => {
        const input = el('input', { type: 'radio', name: `res-${n}`, value: res, id: `res-${n}-${res}`, checked: res === 'minute' });
        input.addEventListener('change', () => {
          if (input.checked) { resolution.set(this.id, res); tick(); }
        });
        return el('label', { for: `res-${n}-${res}` }, input, ` per ${res}`);
      });
      this.resolutionEl = el('fieldset', { class: 'resolution' }, el('legend', { text: 'Resolution' }), ...radios);
      this.volumeFig = figure('volume', 'Mention volume (all, negative)', `Mention volume over time, brand ${id}`);
      this.sentimentFig = figure('sentiment', 'Average sentiment', `Average sentiment over time, brand ${id}`);
      this.adsEl = el('div', { class: 'ads' });
      this.adsNote = el('p', { class: 'empty', text: NO_DATA });
      this.casesSummary = el('summary', { text: 'Open cases past SLA' });
      this.casesTable = table(CASE_COLUMNS, `Open cases past SLA, brand ${id}`);
      this.casesNote = el('p', { class: 'empty', text: NO_DATA });
      this.valueTable = table(VALUE_COLUMNS, `Value realization per day, brand ${id}`);
      this.valueNote = el('p', { class: 'empty', text: NO_DATA });

      this.el = el('article', { class: 'card', 'data-brand-id': id, 'aria-labelledby': `card-${n}-title` },
        el('header', { class: 'card-head' },
          this.titleEl, this.stateEl, this.pauseEl,
          el('div', { class: 'resume-box' }, this.resumeBtn, this.resumeMsg)),
        el('section', { class: 'figures', 'aria-label': 'Care and mention figures' }, kpis, this.rangeEl),
        el('section', { class: 'trend', 'aria-label': 'Mentions and sentiment over time' },
          el('div', { class: 'section-head' }, el('h3', { text: 'Mentions and sentiment' }), this.resolutionEl),
          el('div', { class: 'charts' }, this.volumeFig, this.sentimentFig)),
        el('section', { class: 'crisis', 'aria-label': 'Ad-comment crisis timeline' },
          el('h3', { text: 'Ad-comment crisis timeline (10-minute window)' }), this.adsEl, this.adsNote),
        el('section', { class: 'value', 'aria-label': 'Value realization' },
          el('h3', { text: 'Value realization per day' }),
          el('div', { class: 'scroll' }, this.valueTable), this.valueNote),
        el('details', { class: 'cases' }, this.casesSummary,
          el('div', { class: 'scroll' }, this.casesTable), this.casesNote));
      this.volume = new Chart(this.volumeFig, volumeOpts(60), 180);
      this.sentiment = new Chart(this.sentimentFig, sentimentOpts(60), 180);
      this.step = 60;
    }

    /** `x`: `{brand?, overview?, series, crisis, value, cases, resolution}` of one refresh. */
    update(x) {
      const b = x.brand || {};
      const o = x.overview || null;
      const name = b.name || this.id;
      this.titleEl.textContent = name;
      if (name !== this.id) this.titleEl.append(el('span', { class: 'brand-id', text: ` ${this.id}` }));
      this.updateState(b, o, name);
      for (const [key, , f] of KPIS) this.kpiEls.get(key).textContent = o ? f(o) : '—';
      this.rangeEl.textContent = o
        ? (o.from != null ? `over the retained windows ${fmtTime(o.from)} – ${fmtTime(o.to)} UTC` : '')
        : NO_DATA;
      this.updateTrend(x);
      this.updateAds(x.crisis, b);
      this.updateValue(x.value);
      this.updateCases(x.cases);
    }

    updateState(b, o, name) {
      const paused = Boolean(b.brand_id != null ? b.publishing_paused : o && o.publishing_paused);
      const since = b.brand_id != null ? b.paused_since : o && o.paused_since;
      const by = b.brand_id != null ? b.paused_by : o && o.paused_by;
      this.el.dataset.state = paused ? 'paused' : 'live';
      this.stateEl.textContent = paused ? 'paused' : 'live';
      this.stateEl.className = `state ${paused ? 'paused' : 'live'}`;
      let info = '';
      if (paused) info = `publishing paused since ${fmtTime(since)} UTC${by ? ` by alert ${by}` : ''}`;
      else if (b.kill_switch_enabled === false) info = 'kill switch disabled: crises are recorded, publishing is never paused';
      else info = 'publishing live';
      const crises = b.crises != null ? ` · ${b.crises} ${b.crises === 1 ? 'crisis' : 'crises'} so far` : '';
      this.pauseEl.textContent = info + crises;
      this.resumeBtn.disabled = !paused || this.resuming;
      this.resumeBtn.setAttribute('aria-label', `Resume publishing for ${name}`);
    }

    updateTrend(x) {
      const step = x.resolution === 'hour' ? 3600 : 60;
      if (step !== this.step) {
        // The bar width and x padding depend on the resolution: rebuild both charts.
        this.volume.destroy();
        this.sentiment.destroy();
        $('.plot', this.volumeFig).replaceChildren();
        $('.plot', this.sentimentFig).replaceChildren();
        this.volume = new Chart(this.volumeFig, volumeOpts(step), 180);
        this.sentiment = new Chart(this.sentimentFig, sentimentOpts(step), 180);
        this.step = step;
      }
      for (const r of this.resolutionEl.querySelectorAll('input')) r.checked = r.value === x.resolution;
      const pts = x.series && x.series.ok && x.series.data && Array.isArray(x.series.data.points) ? x.series.data.points : [];
      const xs = pts.map((p) => p.t / 1000);
      this.volume.set([xs, pts.map((p) => p.mentions), pts.map((p) => p.negative)]);
      this.sentiment.set([xs, pts.map((p) => p.sentiment_avg)]);
      this.volumeFig.dataset.resolution = x.resolution;
      this.sentimentFig.dataset.resolution = x.resolution;
    }

    updateAds(crisis, b) {
      const ads = listOf(crisis);
      const seen = new Set();
      for (const ad of ads) {
        seen.add(ad.ad_id);
        let view = this.ads.get(ad.ad_id);
        if (!view) {
          view = new AdTimeline(ad.ad_id, this.id);
          this.ads.set(ad.ad_id, view);
        }
        this.adsEl.append(view.el); // moves an existing one: keeps the API's order, never copies
        view.update(ad, b);
      }
      for (const [id, view] of this.ads) {
        if (!seen.has(id)) { view.destroy(); this.ads.delete(id); }
      }
      this.adsNote.hidden = ads.length > 0;
      this.adsNote.textContent = crisis && crisis.ok ? 'no ad comments in the retained window' : NO_DATA;
    }

    updateValue(value) {
      const rows = listOf(value);
      fillTable(this.valueTable, VALUE_COLUMNS, rows, 'data-day', (v) => fmtDay(v.day));
      this.valueNote.hidden = rows.length > 0;
    }

    updateCases(cases) {
      const rows = listOf(cases);
      fillTable(this.casesTable, CASE_COLUMNS, rows, 'data-case-id', (c) => c.case_id);
      this.casesSummary.textContent = cases && cases.ok ? `Open cases past SLA: ${rows.length}` : 'Open cases past SLA';
      this.casesNote.hidden = rows.length > 0;
      this.casesNote.textContent = cases && cases.ok ? 'none' : NO_DATA;
    }

    async resume() {
      const input = $('#token');
      const token = input.value;
      if (!token) {
        this.resumeMsg.textContent = 'enter the API token above first';
        input.focus();
        return;
      }
      this.resuming = true;
      this.resumeBtn.disabled = true;
      this.resumeMsg.textContent = 'resuming…';
      try {
        const r = await fetch(`/api/brands/${encodeURIComponent(this.id)}/resume`, {
          method: 'POST', headers: { Authorization: `Bearer ${token}` }, cache: 'no-store',
        });
        let body = {};
        try { body = await r.json(); } catch { /* no JSON body */ }
        const why = body.error ? `: ${body.error}` : '';
        this.resumeMsg.textContent = {
          202: 'resume requested',
          401: 'wrong or missing token (401)',
          403: `resuming is disabled on the server (403)${why}`,
          404: 'unknown brand (404)',
          409: 'publishing is not paused (409)',
        }[r.status] || `resume failed (${r.status})${why}`;
      } catch (e) {
        this.resumeMsg.textContent = `resume failed: ${e.message || e}`;
      } finally {
        this.resuming = false;
        tick();
      }
    }

    destroy() {
      this.volume.destroy();
      this.sentiment.destroy();
      for (const view of this.ads.values()) view.destroy();
      this.el.remove();
    }
  }

  // ---- one ad's crisis timeline ---------------------------------------------------------------

  const ACTION_NAMES = { pause_all_publishing: 'paused', resume_publishing: 'resumed' };

  class AdTimeline {
    constructor(adId, brandId) {
      this.stateEl = el('p', { class: 'ad-state' });
      this.fig = figure('crisis', `ad ${adId}`, `Crisis timeline of ad ${adId}, brand ${brandId}`);
      this.events = el('ol', { class: 'events', 'aria-label': `Alerts and actions of ad ${adId}` });
      this.el = el('div', { class: 'ad', 'data-ad-id': adId }, this.stateEl, this.fig, this.events);
      this.chart = new Chart(this.fig, crisisOpts(), 170);
    }

    update(ad, brand) {
      const pts = Array.isArray(ad.points) ? ad.points : [];
      const alerts = Array.isArray(ad.alerts) ? ad.alerts : [];
      const actions = Array.isArray(ad.actions) ? ad.actions : [];
      const marks = [];
      for (const a of alerts) {
        marks.push({ ms: a.opened_at, t: a.opened_at / 1000, color: COLOR.alert, label: 'alert opened', text: `alert ${a.alert_id} opened (window from ${fmtClock(a.window_start)})${a.action_status ? ` · ${a.action || 'no action'}: ${a.action_status}` : ''}` });
        if (a.resolved_window != null) {
          marks.push({ ms: a.resolved_window, t: a.resolved_window / 1000, color: COLOR.resolved, label: 'resolved', text: `alert ${a.alert_id} resolved (window ${fmtClock(a.resolved_window)})` });
        }
      }
      for (const x of actions) {
        const name = ACTION_NAMES[x.action] || x.action;
        const color = x.action === 'resume_publishing' ? COLOR.resume : COLOR.pause;
        marks.push({ ms: x.at, t: x.at / 1000, color, label: name, text: `${name} (${x.action}: ${x.status})` });
      }
      marks.sort((a, b) => a.ms - b.ms);
      this.chart.set([
        pts.map((p) => p.t / 1000),
        pts.map((p) => p.comments),
        pts.map((p) => p.window_comments),
        pts.map((p) => p.window_neg_share),
        pts.map((p) => p.window_risk_share),
      ], marks);
      this.events.replaceChildren(...marks.map((m) =>
        el('li', { 'data-kind': m.label }, el('time', { text: `${fmtTime(m.ms)} ` }), m.text)));
      const open = alerts.filter((a) => a.resolved_window == null);
      const pausedByThis = brand.publishing_paused && alerts.some((a) => a.alert_id === brand.paused_by);
      this.stateEl.textContent = open.length
        ? `crisis open since ${fmtTime(open[open.length - 1].opened_at)} UTC`
        : alerts.length ? `${alerts.length} ${alerts.length === 1 ? 'crisis' : 'crises'}, resolved` : 'no crisis';
      if (pausedByThis) this.stateEl.textContent += ' · paused the brand';
      this.el.classList.toggle('in-crisis', open.length > 0);
    }

    destroy() {
      this.chart.destroy();
      this.el.remove();
    }
  }

  // ---- the page -------------------------------------------------------------------------------

  const cards = new Map();
  const resolution = new Map();
  let refreshes = 0;

  const ALERT_COLUMNS = [
    ['alert_id', (a) => a.alert_id],
    ['brand_id', (a) => a.brand_id],
    ['ad_id', (a) => a.ad_id],
    ['opened_at', (a) => fmtTime(a.opened_at)],
    ['comments', (a) => fmtInt(a.comments)],
    ['neg_share', (a) => fmtShare(a.neg_share)],
    ['risk_share', (a) => fmtShare(a.risk_share)],
    ['action', (a) => a.action || '—'],
    ['action_status', (a) => a.action_status || '—'],
    ['attempts', (a) => fmtInt(a.attempts)],
    ['action_latency_ms', (a) => (a.action_latency_ms == null ? '—' : `${Number(a.action_latency_ms).toFixed(0)} ms`)],
  ];

  function renderAlerts(alerts) {
    const rows = listOf(alerts);
    $('#alerts tbody').replaceChildren(...rows.map((a) =>
      el('tr', { 'data-alert-id': a.alert_id, class: a.resolved_window == null ? 'open' : null },
        ...ALERT_COLUMNS.map(([, f]) => el('td', { text: f(a) })))));
    $('#no-alerts').hidden = rows.length > 0;
    $('#no-alerts').textContent = alerts.ok ? 'no alerts' : NO_DATA;
  }

  async function loadBrand(id) {
    const q = encodeURIComponent(id);
    const res = resolution.get(id) || 'minute';
    const [series, crisis, value, cases] = await Promise.all([
      getJSON(`/api/series?brand=${q}&resolution=${res}`),
      getJSON(`/api/crisis?brand=${q}`),
      getJSON(`/api/value?brand=${q}`),
      getJSON(`/api/cases?brand=${q}`),
    ]);
    return { series, crisis, value, cases, resolution: res };
  }

  async function refresh() {
    const [brands, overview, alerts] = await Promise.all([getJSON('/api/brands'), getJSON('/api/overview'), getJSON('/api/alerts')]);
    const info = new Map();
    for (const b of listOf(brands)) info.set(b.brand_id, { brand: b });
    for (const o of listOf(overview)) info.set(o.brand_id, { ...(info.get(o.brand_id) || {}), overview: o });
    const ids = [...info.keys()].sort();
    const details = await Promise.all(ids.map(loadBrand));
    ids.forEach((id, i) => Object.assign(info.get(id), details[i]));

    for (const [id, card] of cards) {
      if (!info.has(id)) { card.destroy(); cards.delete(id); }
    }
    const root = $('#brands');
    for (const id of ids) {
      let card = cards.get(id);
      if (!card) { card = new BrandCard(id); cards.set(id, card); }
      root.append(card.el); // moves an existing card: sorted by brand_id, never copied
      card.update(info.get(id));
    }
    $('#no-brands').hidden = ids.length > 0;
    renderAlerts(alerts);

    const status = $('#status');
    if (!brands.ok && !overview.ok) {
      status.textContent = `API unreachable (${brands.status ? `HTTP ${brands.status}` : brands.error || 'network error'}); retrying`;
      status.className = 'status error';
    } else {
      status.textContent = `${ids.length} ${ids.length === 1 ? 'brand' : 'brands'} · updated ${fmtTime(Date.now()).slice(11)} UTC`;
      status.className = 'status';
    }
    refreshes += 1;
    document.body.dataset.refreshes = String(refreshes);
  }

  // One refresh at a time: `tick()` during a refresh asks for one more right after it.
  let timer = null;
  let running = false;
  let again = false;
  async function tick() {
    if (running) { again = true; return; }
    clearTimeout(timer);
    running = true;
    try {
      await refresh();
    } catch (e) {
      $('#status').textContent = `refresh failed: ${e.message || e}; retrying`;
      $('#status').className = 'status error';
      console.error(e);
    } finally {
      running = false;
      if (again) { again = false; tick(); } else timer = setTimeout(tick, POLL_MS);
    }
  }

  tick();
})();
