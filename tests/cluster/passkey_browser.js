// passkey_browser.js — drives Debian's chromium through playwright-core, with
// the DevTools virtual authenticator standing in for a phone's passkeys.
//
//   node passkey_browser.js URL_A URL_B CODE SHOTDIR
//
// Customer A opens URL_A (a unit's Digital Link page on one node), is refused
// with a wrong code, claims with the right one (typed in lower case) and a new
// passkey, activates the warranty and offers a transfer; customer B (another
// browser context, another authenticator) opens URL_B (the same unit on
// another node) opens the link decoded (zbarimg) from the offer's QR, finds
// the code prefilled from its #code= fragment and claims. After each write
// the page reloads with ?min_height=<receipt height> and must show the new
// state at once (no polling). A's page then no longer offers the owner's
// actions. axe-core runs at 390x844 and 1280x800 on the sold page, the
// owner's and the claim form. Prints {"a": id, "b": id, "axe": {...}} (the
// passkeys' ledger identities, violations per page and viewport). Exit 77 when playwright-core or chromium is
// missing; 1 with a message on any failed step.
'use strict';
const path = require('path');
const NPM = process.env.PROVENA_NPM_DIR ||
  path.join(process.env.XDG_CACHE_HOME || path.join(process.env.HOME || '/root', '.cache'),
    'provena-npm');
module.paths.unshift(path.join(NPM, 'node_modules'));
let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  console.log('passkey_browser: SKIP (playwright-core not in ' + NPM + ')');
  process.exit(77);
}
const fs = require('fs');
const EXE = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(EXE)) {
  console.log('passkey_browser: SKIP (no ' + EXE + ')');
  process.exit(77);
}
const { execFileSync } = require('child_process');
const H = require('../browser/harness.js');
const [urlA, urlB, code, shots] = process.argv.slice(2);
const T = 30000 * (Number(process.env.PROVENA_TIME_SCALE) || 1);

async function customer(browser, name, locale = 'en-US') {
  // bypassCSP: only so axe-core can be injected; the page's own script is 'self'.
  // locale: the browser's Accept-Language, which picks the page's language
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true,
    locale: locale });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
    hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });
  page.on('pageerror', (e) => console.error(name + ' page error: ' + e.message));
  return page;
}

async function status(page, want) {
  try {
    await page.waitForFunction((w) => {
      const t = document.getElementById('pk-out');
      return t && t.textContent.includes(w);
    }, want, { timeout: T });
  } catch (e) {
    const now = await page.evaluate(() => {
      const t = document.getElementById('pk-out');
      return t ? t.textContent : '(no #pk-out: ' + document.body.innerText.slice(0, 300) + ')';
    });
    throw new Error('waiting for "' + want + '", the page says: ' + now);
  }
  return page.textContent('#pk-out');
}

// After a write the page replaces itself with ?min_height=H (H: the
// receipt's height). Waits for that load and checks the server-rendered page
// is as of H or later; returns H. No polling: the first page must be right.
async function reloadedAt(page, before = 0) {
  await page.waitForURL((u) => Number(u.searchParams.get('min_height')) > before, { timeout: T });
  await page.waitForLoadState('load');
  const h = Number(new URL(page.url()).searchParams.get('min_height'));
  const asOf = Number(((await page.textContent('#as-of')) || '').replace(/\D+/g, ''));
  if (!(h > 0) || !(asOf >= h)) throw new Error(`page as of ${asOf}, wrote at ${h}: ${page.url()}`);
  if (/#code=/.test(page.url())) throw new Error('the code stayed in the URL: ' + page.url());
  return h;
}

// axe-core over the page at phone and desktop size, a phone screenshot kept.
const axeSeen = {};
async function checked(page, name) {
  await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
  for (const [vp, size] of [['phone', { width: 390, height: 844 }],
    ['desktop', { width: 1280, height: 800 }]]) {
    await page.setViewportSize(size);
    const v = await H.axe(page);
    axeSeen[name + '@' + vp] = v.length;
    if (v.length) throw new Error(`axe on ${name} at ${vp}: ` + JSON.stringify(v));
    if (await H.overflowsX(page)) throw new Error(`${name} at ${vp} scrolls sideways`);
  }
  await page.setViewportSize({ width: 390, height: 844 });
}

async function main() {
  const browser = await chromium.launch({ executablePath: EXE, args: ['--no-sandbox'] });
  try {
    const a = await customer(browser, 'A');
    await a.goto(urlA);
    await checked(a, 'a-sold');
    // a wrong code: refused, nothing changes
    const wrong = code.slice(0, -1) + (code.slice(-1) === '0' ? '1' : '0');
    await a.fill('#pk-code', wrong);
    await a.click('#pk-claim button');
    await status(a, 'bad_claim_code');
    // the right code, as a person might type it
    await a.fill('#pk-code', code.toLowerCase().replace(/-/g, ' '));
    await a.click('#pk-claim button');
    await status(a, 'Claimed');
    // the reload at the claim's height shows A as the owner at once
    const hClaim = await reloadedAt(a);
    const idA = await a.evaluate(() => JSON.parse(localStorage.getItem('provena-passkeys'))[0].id);
    if ((await a.getAttribute('#own', 'data-owner')) !== idA) throw new Error('A is not the owner');
    if (!(await a.isVisible('#pk-owner'))) throw new Error("A does not see the owner's actions");
    await checked(a, 'a-owner');
    await a.click('form[data-act="warranty.activate"] button');
    await status(a, 'Done');
    await reloadedAt(a, hClaim);
    if (!(await a.textContent('main')).includes('Warranty activated'))
      throw new Error('warranty activation not shown after the reload: ' + a.url() + '\n' + await a.textContent('body'));
    await a.waitForSelector('#pk-owner:not([hidden])', { timeout: T });
    await a.click('form[data-act="transfer.offer"] button');
    await status(a, 'Transfer offered');
    const offer = (await a.textContent('#pk-offer')).trim();
    if (!/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/.test(offer)) throw new Error('offer code: ' + offer);
    await a.waitForSelector('#pk-qr svg', { timeout: T });
    await a.locator('#pk-offer').scrollIntoViewIfNeeded();
    await checked(a, 'a-offer');
    // the QR, as B's camera sees it: decoded from a screenshot of it
    const qrPng = path.join(shots, 'a-offer-qr.png');
    await a.locator('#pk-qr').screenshot({ path: qrPng });
    const decoded = execFileSync('zbarimg', ['-q', '--raw', qrPng], { encoding: 'utf8' }).trim();
    if (decoded !== urlA + '#code=' + offer) throw new Error('the QR says ' + decoded);

    // B scans it; the link resolves here through the second node. B's browser
    // speaks German: the page and the script's status lines are in German
    const b = await customer(browser, 'B', 'de-DE');
    const q = new URL(decoded), viaB = new URL(urlB);
    q.protocol = viaB.protocol;
    q.host = viaB.host;
    await b.goto(q.toString());
    if ((await b.inputValue('#pk-code')) !== offer) throw new Error('the code is not prefilled');
    await checked(b, 'b-claim');
    await b.click('#pk-claim button');
    await status(b, 'Registriert: Dieses Produkt gehört Ihnen');
    const hB = await reloadedAt(b);
    await b.waitForSelector('#pk-owner:not([hidden])', { timeout: T });
    const idB = await b.evaluate(() => JSON.parse(localStorage.getItem('provena-passkeys'))[0].id);
    await checked(b, 'b-owner');
    // B files a warranty claim with a note (the warranty A activated runs on)
    await b.fill('#pk-note', 'Reißverschluss klemmt');
    await b.click('form[data-act="warranty.claim"] button');
    await status(b, 'Erledigt (Block');
    const hW = await reloadedAt(b, hB);
    if (!(await b.textContent('main')).includes('Garantiefall gemeldet'))
      throw new Error('the warranty claim is not in the history: ' + await b.textContent('main'));
    // ... and reports it stolen: the verdict says so, in German
    await b.waitForSelector('#pk-owner:not([hidden])', { timeout: T });
    await b.click('form[data-act="flag"] button');
    await status(b, 'Erledigt (Block');
    await reloadedAt(b, hW);
    if (!(await b.textContent('header')).includes('Als gestohlen gemeldet'))
      throw new Error('the verdict does not say stolen: ' + await b.textContent('header'));
    await checked(b, 'b-stolen');
    // what the ledger would refuse now is not offered: no second report, no transfer offer
    await b.waitForSelector('#pk-owner:not([hidden])', { timeout: T });
    for (const act of ['flag', 'transfer.offer'])
      if (await b.$(`form[data-act="${act}"]`))
        throw new Error(`a stolen unit's page still offers ${act}`);

    // A is no longer the owner: the owner's actions stay hidden for A
    await a.reload();
    await a.waitForSelector('#own', { state: 'attached', timeout: T });
    if (await a.isVisible('#pk-owner')) throw new Error("A still sees the owner's actions");
    await a.screenshot({ path: path.join(shots, 'a-after.png'), fullPage: true });
    console.log(JSON.stringify({ a: idA, b: idB, axe: axeSeen }));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error('passkey_browser: ' + (e && e.stack || e));
  process.exit(1);
});
