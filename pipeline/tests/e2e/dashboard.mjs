// The dashboard in headless Chromium (Debian's `chromium`, driven by playwright-core; no browser
// download): loads a running job's page and checks what a user would see.
//
//   node dashboard.mjs <base-url> <api-token> <screenshot.png>
//
// Exits 0 when every check passes; otherwise prints the failed check, saves the page as
// <screenshot>-failure.png and exits 1. The expected brands, ads and alerts come from the job's
// own JSON API (docs/dashboard-api.md); the page must show exactly those, and at least one brand
// must be paused by a crisis (the caller starts a job whose input pauses one).
//
// Checks:
// - every request the page makes goes to the job itself (no CDN, no other network), every asset
//   and API request answers 200, the console shows no error (CSP violations included);
// - every brand has one card, every card has its volume and sentiment charts drawn (a canvas of
//   non-zero size holding data points and pixels of the series colour), every ad of the crisis
//   API has one timeline in its brand's card, with its chart drawn;
// - over several refreshes no card, ad timeline, value row or alert row appears twice, and the
//   refreshes of /api/brands never overlap;
// - the paused brand's card says "paused" and names the alert that paused it; that alert's ad
//   timeline marks its opening; the alerts table lists it;
// - the minute/hour toggle switches the charts' resolution;
// - Resume without a token sends nothing, with a wrong token reports 401 and the brand stays
//   paused, with the token the brand goes "live" and its ad timeline marks the resume; the token
//   never reaches the URL, cookies or storage;
// - the page fits a 1366 x 768 laptop screen's width (no horizontal scrolling).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [base, token, shot] = process.argv.slice(2);
if (!base || !token || !shot) {
  console.error('usage: node dashboard.mjs <base-url> <api-token> <screenshot.png>');
  process.exit(2);
}
const CHROMIUM = process.env.BRANDPULSE_CHROMIUM || '/usr/bin/chromium';
const WAIT_MS = 30000;
// The series colours of app.js (COLOR.mentions, COLOR.sentiment, COLOR.comments).
const SERIES_COLOR = { volume: [0x3b, 0x6f, 0xd8], sentiment: [0x7b, 0x3f, 0xc4], crisis: [0x3b, 0x6f, 0xd8] };

class CheckFailed extends Error {}
function check(cond, what) {
  if (!cond) throw new CheckFailed(what);
  console.log(`ok - ${what}`);
}
const dups = (xs) => xs.filter((x, i) => xs.indexOf(x) !== i);
const same = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

async function api(p) {
  const r = await fetch(new URL(p, base));
  if (!r.ok) throw new CheckFailed(`GET ${p} answered ${r.status}`);
  return r.json();
}

const origin = new URL(base).origin;
const problems = [];
const brandsInFlight = { now: 0, max: 0 };
const requests = [];

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
// Chromium logs every 4xx/5xx response as a console error: responses are checked below instead.
page.on('console', (m) => {
  if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console error: ${m.text()}`);
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('request', (r) => {
  requests.push({ method: r.method(), url: r.url(), auth: r.headers().authorization || null });
  if (!r.url().startsWith(`${origin}/`) && !r.url().startsWith('data:')) problems.push(`request outside the job: ${r.url()}`);
  if (new URL(r.url()).pathname === '/api/brands') {
    brandsInFlight.now += 1;
    brandsInFlight.max = Math.max(brandsInFlight.max, brandsInFlight.now);
  }
});
const settled = (r) => { if (new URL(r.url()).pathname === '/api/brands') brandsInFlight.now -= 1; };
page.on('requestfinished', settled);
page.on('requestfailed', (r) => { settled(r); problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`); });
page.on('response', (r) => {
  const expected = r.request().method() === 'POST' ? [202, 401] : [200];
  if (!expected.includes(r.status())) problems.push(`${r.request().method()} ${r.url()} answered ${r.status()}`);
});
const noProblems = (when) => check(problems.length === 0, `no network or console problem ${when}${problems.length ? `: ${problems.join('; ')}` : ''}`);

const refreshes = () => page.evaluate(() => Number(document.body.dataset.refreshes || 0));
async function nextRefresh() {
  const n = await refreshes();
  await page.waitForFunction((k) => Number(document.body.dataset.refreshes || 0) > k, n, { timeout: WAIT_MS });
}

/** What the page shows, keyed as the page keys it. */
function snapshot() {
  return page.evaluate(() => {
    const cards = [...document.querySelectorAll('#brands article.card')];
    return {
      cards: cards.map((c) => c.dataset.brandId),
      ads: Object.fromEntries(cards.map((c) => [c.dataset.brandId, [...c.querySelectorAll('[data-ad-id]')].map((a) => a.dataset.adId)])),
      days: Object.fromEntries(cards.map((c) => [c.dataset.brandId, [...c.querySelectorAll('tr[data-day]')].map((r) => r.dataset.day)])),
      alerts: [...document.querySelectorAll('#alerts tr[data-alert-id]')].map((r) => r.dataset.alertId),
      everyBrandIdNode: [...document.querySelectorAll('[data-brand-id]')].map((e) => e.dataset.brandId),
    };
  });
}

/** Every chart of the page: kind, brand, ad, points, canvas size and pixels of `color`. */
function charts(colors) {
  return page.evaluate((colors) => [...document.querySelectorAll('figure.chart')].map((f) => {
    const canvas = f.querySelector('canvas');
    let colored = 0;
    if (canvas && canvas.width > 0 && canvas.height > 0) {
      const [r, g, b] = colors[f.dataset.chart];
      const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3] > 100 && Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b) < 40) colored += 1;
      }
    }
    return {
      kind: f.dataset.chart,
      brand: f.closest('[data-brand-id]').dataset.brandId,
      ad: f.closest('[data-ad-id]')?.dataset.adId ?? null,
      points: Number(f.dataset.points),
      width: canvas ? canvas.width : 0,
      height: canvas ? canvas.height : 0,
      colored,
    };
  }), colors);
}

const card = (id) => page.locator(`#brands article.card[data-brand-id="${id}"]`);

let failed = null;
try {
  // What the job says it has.
  const apiBrands = await api('/api/brands');
  const overview = await api('/api/overview');
  const ids = [...new Set([...apiBrands, ...overview].map((b) => b.brand_id))].sort();
  const paused = apiBrands.filter((b) => b.publishing_paused);
  check(ids.length > 0, `the API lists brands: ${ids.join(', ')}`);
  check(paused.length > 0 && paused.every((b) => b.paused_by), `the API has a brand paused by an alert: ${paused.map((b) => `${b.brand_id} by ${b.paused_by}`).join(', ')}`);
  const crisisByBrand = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await api(`/api/crisis?brand=${encodeURIComponent(id)}`)])));
  const apiAlerts = await api('/api/alerts');

  await page.goto(base, { waitUntil: 'load' });
  await page.waitForFunction((n) => document.querySelectorAll('#brands article.card').length >= n && Number(document.body.dataset.refreshes || 0) >= 1, ids.length, { timeout: WAIT_MS });

  // Cards and charts.
  let s = await snapshot();
  check(same(s.cards, ids), `one card per brand: page [${s.cards}] vs API [${ids}]`);
  // Charts get their canvas once the card has a width: wait for every chart of every brand.
  await page.waitForFunction(() => [...document.querySelectorAll('figure.chart')].every((f) => f.querySelector('canvas') && Number(f.dataset.points) > 0), null, { timeout: WAIT_MS });
  const drawn = await charts(SERIES_COLOR);
  for (const id of ids) {
    for (const kind of ['volume', 'sentiment']) {
      const c = drawn.filter((x) => x.brand === id && x.kind === kind);
      check(c.length === 1 && c[0].width > 0 && c[0].height > 0 && c[0].points > 0 && c[0].colored > 20,
        `${id}: the ${kind} chart is drawn (${JSON.stringify(c)})`);
    }
    const ads = crisisByBrand[id].map((a) => a.ad_id);
    check(same(s.ads[id], ads), `${id}: one crisis timeline per ad of /api/crisis: page [${s.ads[id]}] vs API [${ads}]`);
    for (const ad of crisisByBrand[id].filter((a) => a.points.length > 0)) {
      const c = drawn.filter((x) => x.brand === id && x.ad === ad.ad_id);
      check(c.length === 1 && c[0].width > 0 && c[0].height > 0 && c[0].points === ad.points.length && c[0].colored > 20,
        `${id}/${ad.ad_id}: the crisis chart holds its ${ad.points.length} minutes and is drawn (${JSON.stringify(c)})`);
    }
  }

  // Nothing twice, over several refreshes; refreshes never overlap.
  for (let i = 0; i < 3; i += 1) {
    await nextRefresh();
    s = await snapshot();
    check(dups(s.cards).length === 0 && same(s.cards, ids), `refresh ${i + 1}: each brand's card once [${s.cards}]`);
    for (const id of ids) {
      check(dups(s.ads[id]).length === 0, `refresh ${i + 1}: ${id}: each ad once [${s.ads[id]}]`);
      check(dups(s.days[id]).length === 0, `refresh ${i + 1}: ${id}: each value day once [${s.days[id]}]`);
    }
    check(dups(s.alerts).length === 0 && same(s.alerts, apiAlerts.map((a) => a.alert_id)), `refresh ${i + 1}: each alert once [${s.alerts}]`);
  }
  check(brandsInFlight.max === 1, `refreshes never overlap (at most ${brandsInFlight.max} /api/brands request in flight)`);
  noProblems('while loading and refreshing');

  // The paused brand and its crisis.
  for (const b of paused) {
    const c = card(b.brand_id);
    check((await c.getAttribute('data-state')) === 'paused' && (await c.locator('[data-role=state]').innerText()).toLowerCase() === 'paused',
      `${b.brand_id}: the card shows "paused"`);
    check((await c.locator('.pause-info').innerText()).includes(`by alert ${b.paused_by}`), `${b.brand_id}: the card names the alert that paused it`);
    const alert = apiAlerts.find((a) => a.alert_id === b.paused_by);
    check(alert, `${b.paused_by} is in /api/alerts`);
    const ad = c.locator(`[data-ad-id="${alert.ad_id}"]`);
    check(await ad.isVisible(), `${b.brand_id}: the crisis ad ${alert.ad_id} has a visible timeline`);
    check((await ad.locator('.events').innerText()).includes(`alert ${b.paused_by} opened`), `${alert.ad_id}: the timeline marks the alert's opening`);
    check(await page.locator(`#alerts tr[data-alert-id="${b.paused_by}"]`).isVisible(), `the alerts table lists ${b.paused_by}`);
    check(await c.getByRole('button', { name: `Resume publishing for ${b.name || b.brand_id}` }).isEnabled(),
      `${b.brand_id}: its Resume button is enabled and named for the brand`);
  }
  for (const b of apiBrands.filter((x) => !x.publishing_paused)) {
    check((await card(b.brand_id).getAttribute('data-state')) === 'live', `${b.brand_id}: the card shows "live"`);
  }
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 1366, `the page fits 1366 px without horizontal scrolling (scroll width ${width})`);

  // The screenshot, with the crisis and the pause on it.
  fs.mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  check(fs.statSync(shot).size > 10000, `screenshot saved to ${shot}`);

  // Minute/hour.
  const first = card(ids[0]);
  await first.getByRole('radio', { name: 'per hour' }).check();
  await page.waitForFunction((id) => {
    const f = document.querySelector(`article.card[data-brand-id="${CSS.escape(id)}"] figure[data-chart=volume]`);
    return f && f.dataset.resolution === 'hour' && Number(f.dataset.points) > 0 && f.querySelector('canvas');
  }, ids[0], { timeout: WAIT_MS });
  check(requests.some((r) => r.url.includes('resolution=hour')), `${ids[0]}: "per hour" loads the hourly series and draws it`);
  await first.getByRole('radio', { name: 'per minute' }).check();
  await page.waitForFunction((id) => document.querySelector(`article.card[data-brand-id="${CSS.escape(id)}"] figure[data-chart=volume]`).dataset.resolution === 'minute', ids[0], { timeout: WAIT_MS });
  check(true, `${ids[0]}: "per minute" switches back`);

  // Resume.
  const b = paused[0];
  const c = card(b.brand_id);
  const button = c.getByRole('button', { name: `Resume publishing for ${b.name || b.brand_id}` });
  const tokenBox = page.getByLabel('API token');
  check((await tokenBox.getAttribute('type')) === 'password', 'the token field is a password field with a label');
  const posts = () => requests.filter((r) => r.method === 'POST').length;
  await button.click();
  await page.waitForFunction((id) => document.querySelector(`article.card[data-brand-id="${CSS.escape(id)}"] .resume-msg`).textContent.includes('token'), b.brand_id, { timeout: WAIT_MS });
  check(posts() === 0, 'Resume without a token asks for it and sends nothing');
  await tokenBox.fill(`${token}-wrong`);
  await button.click();
  await page.waitForFunction((id) => document.querySelector(`article.card[data-brand-id="${CSS.escape(id)}"] .resume-msg`).textContent.includes('401'), b.brand_id, { timeout: WAIT_MS });
  await nextRefresh();
  check((await c.getAttribute('data-state')) === 'paused', 'a wrong token is refused (401) and the brand stays paused');
  await tokenBox.fill(token);
  await button.click();
  await page.waitForFunction((id) => document.querySelector(`article.card[data-brand-id="${CSS.escape(id)}"]`).dataset.state === 'live', b.brand_id, { timeout: WAIT_MS });
  check((await c.locator('[data-role=state]').innerText()).toLowerCase() === 'live', `${b.brand_id}: after Resume the card shows "live"`);
  check(await button.isDisabled(), `${b.brand_id}: the Resume button is disabled once live`);
  const post = requests.filter((r) => r.method === 'POST').at(-1);
  check(post.auth === `Bearer ${token}` && post.url === `${origin}/api/brands/${encodeURIComponent(b.brand_id)}/resume`, 'the resume went to the API with the bearer token');
  const alert = apiAlerts.find((a) => a.alert_id === b.paused_by);
  await page.waitForFunction(([id, ad]) => document.querySelector(`article.card[data-brand-id="${CSS.escape(id)}"] [data-ad-id="${CSS.escape(ad)}"] .events`).textContent.includes('resumed'),
    [b.brand_id, alert.ad_id], { timeout: WAIT_MS });
  check(true, `${alert.ad_id}: the timeline marks the resume`);
  const kept = await page.evaluate((t) => JSON.stringify([location.href, document.cookie, { ...localStorage }, { ...sessionStorage }]).includes(t), token);
  check(!kept && requests.every((r) => !r.url.includes(token)), 'the token is in no URL, cookie or storage');
  await nextRefresh();
  s = await snapshot();
  check(same(s.cards, ids) && dups(s.cards).length === 0, 'after the resume still one card per brand');
  noProblems('at the end');
} catch (e) {
  failed = e;
}
if (failed) {
  console.error(`FAILED: ${failed instanceof CheckFailed ? failed.message : failed.stack}`);
  if (problems.length) console.error(`problems seen: ${problems.join('; ')}`);
  await page.screenshot({ path: shot.replace(/\.png$/, '') + '-failure.png', fullPage: true }).catch(() => {});
}
await browser.close();
process.exit(failed ? 1 : 0);
