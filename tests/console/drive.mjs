// Drives the vigil web console in headless Chromium (playwright-core) for
// tests/e2e_console.sh. Usage:
//   node drive.mjs SCENARIO
// with the environment: PW_PREFIX (the npm prefix holding playwright-core),
// BASE (http://127.0.0.1:PORT), TOKEN (the bearer token to enter, may be
// empty), EP (the episode to act on), ART (the screenshot directory),
// PROFILE (a fresh Chromium user-data dir), EXPIRE_ID (act: a silence to
// expire from the silences page).
// Scenarios:
//   act       open the alerts page, open EP, see its chart, why and history,
//             acknowledge it, create a silence from it (preview first),
//             expire silence EXPIRE_ID; rules and on-call pages;
//             screenshots on desktop and phone; prints SILENCE_ID=<id>
//   forbidden acknowledge and silence EP with a token that may not: the UI
//             must show the 403 errors; then a wrong token is refused
//   readonly  a server without tokens: the read-only banner, disabled writes
//   hostile   EP's texts are markup and its runbook a javascript: URL: all
//             shown as text, no link, nothing runs
// Prints "ok <what>" or "FAIL <what>" per check; exits 1 if any failed.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const require = createRequire(join(env('PW_PREFIX'), 'package.json'));
const { chromium } = require('playwright-core');

const BASE = env('BASE'), TOKEN = env('TOKEN', ''), EP = env('EP', ''), ART = env('ART'), PROFILE = env('PROFILE');
const scenario = process.argv[2];
let failed = 0;
const check = (ok, what) => {
  console.log((ok ? 'ok   ' : 'FAIL ') + what);
  if (!ok) failed++;
  return ok;
};

const ctx = await chromium.launchPersistentContext(PROFILE, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 860 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  timeout: 60000,
});
const page = ctx.pages()[0] || (await ctx.newPage());
page.setDefaultTimeout(15000);
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(e.message));

async function shot(name) {
  await page.screenshot({ path: join(ART, name + '.png'), fullPage: true });
  console.log('     screenshot ' + join(ART, name + '.png'));
}

async function loaded(pageName) {
  await page.waitForSelector(`#page-${pageName}[data-loaded="1"]`);
}

async function enterToken() {
  await page.goto(BASE + '/');
  await loaded('alerts');
  if (!TOKEN) return;
  await page.click('#token-button');
  await page.fill('#token-input', TOKEN);
  await page.click('#token-save');
  await page.waitForFunction(() => !['anonymous', '…'].includes(document.getElementById('who').textContent));
  await loaded('alerts');
}

// The text of the first element matching sel that appears within ms, or ''.
async function textOf(sel, ms = 15000) {
  try {
    await page.waitForSelector(sel, { timeout: ms });
    return (await page.textContent(sel)) || '';
  } catch (e) {
    return '';
  }
}

async function noSideScroll(what) {
  const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  check(w[0] <= w[1] + 1, `${what}: no horizontal scrolling (content ${w[0]} px, window ${w[1]} px)`);
}

async function act() {
  await enterToken();
  check((await page.textContent('#who')).startsWith('team:'), 'the token is taken: ' + (await page.textContent('#who')));
  const row = `a.alert-row[data-episode="${EP}"]`;
  check(await page.isVisible(row), 'the alerts page lists episode ' + EP);
  const owners = await page.$$eval('.owner-group h2', (hs) => hs.map((h) => h.textContent));
  check(owners.length >= 1, 'alerts grouped by owner: ' + owners.join(' | '));
  check((await page.textContent(row)).match(/for \d/), 'the row shows the alert\'s age');
  check((await page.$$eval(`${row} .sev`, (e) => e.length)) === 1, 'the row shows the severity');
  await shot('desktop-alerts');

  await page.click(row);
  await loaded('alert');
  await page.waitForSelector('#chart-img, #chart-unavailable');
  let chartOk = false;
  if (await page.$('#chart-img')) {
    chartOk = await page.waitForFunction(() => {
      const i = document.getElementById('chart-img');
      return i && i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().height > 0;
    }, null, { timeout: 10000 }).then(() => true, () => false);
  }
  const unavailable = (await page.$('#chart-unavailable')) ? await page.textContent('#chart-unavailable') : '';
  check(chartOk, 'the alert page shows its chart' + (unavailable ? ` (it says: ${unavailable})` : ''));
  check((await textOf('#why')).includes('observed'), 'the why block (observed, expected, band)');
  check((await page.$$eval('#history li', (l) => l.length)) >= 2, 'the episode history (fired, notified)');

  await page.click('#ack-button');
  const ackMsg = await textOf('#action-result .msg-ok');
  check(ackMsg.includes('Acknowledged'), 'acknowledge: ' + (ackMsg || (await textOf('#action-result', 1000))));
  await page.waitForSelector('.flag-acknowledged', { timeout: 10000 }).catch(() => {});
  check(await page.isVisible('.flag-acknowledged'), 'the page shows it acknowledged after the reload');

  await page.click('#silence-button');
  const matchers = await page.inputValue('#sil-matchers');
  check(/^alertname=/m.test(matchers), 'the silence form is pre-filled from the labels: ' + matchers.replace(/\n/g, ', '));
  const prev = await textOf('#sil-preview p');
  check(/Would mute [1-9]/.test(prev), 'the preview lists what it would mute: ' + prev);
  await page.fill('#sil-comment', 'console test: known incident');
  await page.click('#sil-create');
  const silMsg = await textOf('#action-result .msg-ok');
  const m = silMsg.match(/Silence (s-[0-9a-f]{16}) created/);
  check(m, 'create the silence: ' + (silMsg || (await textOf('#action-result', 1000))));
  if (m) console.log('SILENCE_ID=' + m[1]);
  await shot('desktop-alert');

  await page.goto(BASE + '/#/silences');
  await loaded('silences');
  check(m && (await page.isVisible(`#silences tr[data-id="${m[1]}"]`)), 'the silences page lists it');
  const ex = env('EXPIRE_ID', '');
  if (ex) {
    await page.click(`#silences tr[data-id="${ex}"] button.expire`);
    const exMsg = await textOf('#page-silences .msg-ok');
    check(exMsg.includes(ex + ' expired'), 'expire silence ' + ex + ': ' + (exMsg || (await textOf('#page-silences .msg-error', 1000))));
    await page.waitForSelector(`#silences tr[data-id="${ex}"] td.state-expired`, { timeout: 10000 }).catch(() => {});
    check(await page.isVisible(`#silences tr[data-id="${ex}"] td.state-expired`), 'the list shows it expired');
  }
  await page.goto(BASE + '/#/rules');
  await loaded('rules');
  check((await page.$$eval('table.rules tbody tr', (r) => r.length)) > 0, 'the rules page lists rules with their state');
  await shot('desktop-rules');
  await page.goto(BASE + '/#/oncall');
  await loaded('oncall');
  check((await page.$$eval('section.oncall', (s) => s.length)) > 0, 'the on-call page lists owners');
  await shot('desktop-oncall');

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(BASE + '/#/alerts');
  await loaded('alerts');
  await noSideScroll('phone alerts page');
  await shot('phone-alerts');
  await page.goto(BASE + '/#/alert/' + EP);
  await loaded('alert');
  await page.waitForSelector('#chart-img, #chart-unavailable');
  await noSideScroll('phone alert page');
  await shot('phone-alert');
  await page.goto(BASE + '/#/silences');
  await loaded('silences');
  await noSideScroll('phone silences page');
  await shot('phone-silences');
}

async function forbidden() {
  await enterToken();
  await page.goto(BASE + '/#/alert/' + EP);
  await loaded('alert');
  await page.click('#ack-button');
  const e1 = await textOf('#action-result .msg-error');
  check(e1.startsWith('403'), 'acknowledging another team\'s alert shows the 403: ' + e1);
  await page.click('#silence-button');
  await page.fill('#sil-comment', 'not mine to silence');
  await page.click('#sil-create');
  await page.waitForFunction(() => /^403/.test((document.querySelector('#action-result .msg-error') || {}).textContent || '') &&
    document.querySelector('#action-result .msg-error').textContent.includes('silences'), null, { timeout: 10000 }).catch(() => {});
  const e2 = await textOf('#action-result .msg-error');
  check(e2.startsWith('403') && e2.includes('silences'), 'silencing another team\'s alert shows the 403: ' + e2);
  await shot('desktop-forbidden');
  // a wrong token: the console says it was refused
  await page.click('#token-button');
  await page.fill('#token-input', 'not-a-token-of-this-server');
  await page.click('#token-save');
  const b = await textOf('#banner:not([hidden])');
  check(b.includes('refused') && (await page.textContent('#who')) === 'invalid token', 'a wrong token is refused: ' + b);
}

// An alert whose every text is markup and whose runbook is a javascript:
// URL (anyone with a token may ingest one): shown as text, never run.
async function hostile() {
  await enterToken();
  const row = `a.alert-row[data-episode="${EP}"]`;
  check(await page.isVisible(row), 'the alerts page lists the hostile alert ' + EP);
  check((await page.textContent(row)).includes('evil<img'), 'its name is shown as text');
  await page.click(row);
  await loaded('alert');
  await page.waitForSelector('#chart-img, #chart-unavailable');
  check((await page.textContent('#page-alert')).includes('<b>not bold</b>'), 'its summary is shown as text');
  check((await page.$$('#page-alert img:not(#chart-img), #page-alert script, #page-alert b')).length === 0,
    'no element came from the alert\'s texts');
  check((await page.$$('a[href^="javascript:"]')).length === 0, 'the javascript: runbook is not a link');
  check(await page.evaluate(() => window.__pwned === undefined), 'nothing of it ran');
}

async function readonly() {
  await page.goto(BASE + '/');
  await loaded('alerts');
  const b = await textOf('#banner:not([hidden])');
  check(b.includes('Read-only'), 'the read-only banner: ' + b);
  await page.goto(BASE + '/#/alert/' + EP);
  await loaded('alert');
  check(await page.isDisabled('#ack-button'), 'acknowledge is disabled on a read-only server');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await loaded('alert');
  await shot('phone-readonly');
}

try {
  if (scenario === 'act') await act();
  else if (scenario === 'forbidden') await forbidden();
  else if (scenario === 'readonly') await readonly();
  else if (scenario === 'hostile') await hostile();
  else check(false, 'unknown scenario ' + scenario);
} catch (e) {
  check(false, 'scenario ' + scenario + ' stopped: ' + e.message.split('\n')[0]);
  await shot('error-' + scenario).catch(() => {});
}
check(consoleErrors.length === 0, 'no script errors in the page' + (consoleErrors.length ? ': ' + consoleErrors.join('; ') : ''));
await ctx.close();
process.exit(failed ? 1 : 0);
