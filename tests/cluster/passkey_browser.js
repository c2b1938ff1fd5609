// passkey_browser.js — drives Debian's chromium through playwright-core, with
// the DevTools virtual authenticator standing in for a phone's passkeys.
//
//   node passkey_browser.js URL_A URL_B CODE SHOTDIR
//
// Customer A opens URL_A (a unit's Digital Link page on one node), is refused
// with a wrong code, claims with the right one (typed in lower case) and a new
// passkey, activates the warranty and offers a transfer; customer B (another
// browser context, another authenticator) opens URL_B (the same unit on
// another node) and claims the offer with the code A was shown. A's page then
// no longer offers the owner's actions. Prints {"a": id, "b": id} (the
// passkeys' ledger identities). Exit 77 when playwright-core or chromium is
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
const [urlA, urlB, code, shots] = process.argv.slice(2);
const T = 30000 * (Number(process.env.PROVENA_TIME_SCALE) || 1);

async function customer(browser, name) {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
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

async function main() {
  const browser = await chromium.launch({ executablePath: EXE, args: ['--no-sandbox'] });
  try {
    const a = await customer(browser, 'A');
    await a.goto(urlA);
    await a.screenshot({ path: path.join(shots, 'a-sold.png'), fullPage: true });
    // a wrong code: refused, nothing changes
    const wrong = code.slice(0, -1) + (code.slice(-1) === '0' ? '1' : '0');
    await a.fill('#pk-code', wrong);
    await a.click('#pk-claim button');
    await status(a, 'bad_claim_code');
    // the right code, as a person might type it
    await a.fill('#pk-code', code.toLowerCase().replace(/-/g, ' '));
    await a.click('#pk-claim button');
    await status(a, 'Claimed');
    await a.waitForSelector('#pk-owner:not([hidden])', { timeout: T }); // after the reload
    const idA = await a.evaluate(() => JSON.parse(localStorage.getItem('provena-passkeys'))[0].id);
    await a.click('form[data-act="warranty.activate"] button');
    await status(a, 'Done');
    // the page reloads itself; another node may lag a moment behind the commit
    const until = Date.now() + T;
    for (;;) {
      await a.waitForTimeout(500);
      await a.reload();
      if ((await a.textContent('main')).includes('Warranty activated')) break;
      if (Date.now() > until) throw new Error('warranty activation never shown');
    }
    await a.waitForSelector('#pk-owner:not([hidden])', { timeout: T });
    await a.click('form[data-act="transfer.offer"] button');
    await status(a, 'Transfer offered');
    const offer = (await a.textContent('#pk-offer')).trim();
    await a.screenshot({ path: path.join(shots, 'a-offer.png'), fullPage: true });
    if (!/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/.test(offer)) throw new Error('offer code: ' + offer);

    const b = await customer(browser, 'B');
    await b.goto(urlB);
    await b.fill('#pk-code', offer);
    await b.click('#pk-claim button');
    await status(b, 'Claimed');
    await b.waitForSelector('#pk-owner:not([hidden])', { timeout: T });
    const idB = await b.evaluate(() => JSON.parse(localStorage.getItem('provena-passkeys'))[0].id);
    await b.screenshot({ path: path.join(shots, 'b-owner.png'), fullPage: true });

    // A is no longer the owner: the owner's actions stay hidden for A
    await a.reload();
    await a.waitForSelector('#own', { state: 'attached', timeout: T });
    if (await a.isVisible('#pk-owner')) throw new Error("A still sees the owner's actions");
    await a.screenshot({ path: path.join(shots, 'a-after.png'), fullPage: true });
    console.log(JSON.stringify({ a: idA, b: idB }));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error('passkey_browser: ' + (e && e.stack || e));
  process.exit(1);
});
