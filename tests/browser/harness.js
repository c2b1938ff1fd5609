// harness.js — the real-browser test harness: playwright-core driving the
// machine's Chromium, axe-core for accessibility, and the few page checks the
// tests share. Used by the drivers in this folder (pages.js) and meant for any
// other browser test (a passkey flow adds a DevTools virtual authenticator
// with virtualAuthenticator()).
//
// npm modules come from PROVENA_NPM_DIR (default ~/.cache/provena-npm, where
// scripts/install-deps.sh installs them); Chromium from PROVENA_CHROMIUM or
// the PATH. launch() throws an Error with .code = 'NO_BROWSER' when Chromium
// cannot start, so a wrapper can report a skip instead of a failure.
'use strict';
const fs = require('fs');
const path = require('path');

const NPM = process.env.PROVENA_NPM_DIR ||
  path.join(process.env.XDG_CACHE_HOME || path.join(process.env.HOME || '/root', '.cache'),
    'provena-npm');
module.paths.unshift(path.join(NPM, 'node_modules'));

const VIEWPORTS = {
  phone: { width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  desktop: { width: 1280, height: 800, deviceScaleFactor: 1, isMobile: false, hasTouch: false },
};

function chromiumPath() {
  if (process.env.PROVENA_CHROMIUM) return process.env.PROVENA_CHROMIUM;
  for (const dir of (process.env.PATH || '').split(':')) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      const p = path.join(dir, name);
      try { fs.accessSync(p, fs.constants.X_OK); return p; } catch (e) { /* next */ }
    }
  }
  return null;
}

// The browser, or an Error with code NO_BROWSER.
async function launch() {
  const { chromium } = require('playwright-core');
  const exe = chromiumPath();
  if (!exe) {
    const e = new Error('no chromium on PATH (set PROVENA_CHROMIUM)');
    e.code = 'NO_BROWSER';
    throw e;
  }
  try {
    return await chromium.launch({
      executablePath: exe,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
      timeout: 60000,
    });
  } catch (err) {
    const e = new Error(`chromium ${exe} does not start: ${err.message.split('\n')[0]}`);
    e.code = 'NO_BROWSER';
    throw e;
  }
}

// A context at one of VIEWPORTS ('phone', 'desktop'). bypassCSP lets axe-core
// be injected into pages whose CSP forbids scripts; locale sets
// Accept-Language. Each context is a fresh profile (no cookies, own passkeys).
async function newContext(browser, viewport, opts = {}) {
  const vp = VIEWPORTS[viewport];
  if (!vp) throw new Error(`unknown viewport ${viewport}`);
  return browser.newContext({
    viewport: { width: vp.width, height: vp.height },
    deviceScaleFactor: vp.deviceScaleFactor,
    isMobile: vp.isMobile,
    hasTouch: vp.hasTouch,
    bypassCSP: true,
    locale: opts.locale || 'en-US',
    extraHTTPHeaders: opts.headers || {},
  });
}

// Opens url in a new page of ctx; returns {page, status, headers}.
async function open(ctx, url) {
  const page = await ctx.newPage();
  const resp = await page.goto(url, { waitUntil: 'load', timeout: 30000 });
  return { page, status: resp ? resp.status() : 0, headers: resp ? resp.headers() : {} };
}

// axe-core's violations of the page (all rules axe runs by default):
// [{id, impact, help, targets: [selector...]}].
async function axe(page) {
  const src = require.resolve('axe-core/axe.min.js');
  await page.addScriptTag({ path: src });
  const res = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    window.axe.run(document, { resultTypes: ['violations'] }));
  return res.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5),
  }));
}

// What a person sees of each element matching selector: its text, whether it
// is rendered with a size, its colour, the colour behind it (the first
// non-transparent background up the tree; white at the root) and the WCAG
// contrast ratio between them.
async function readable(page, selector) {
  return page.$$eval(selector, els => {
    const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    return els.map(el => {
      const cs = getComputedStyle(el);
      let bg = [255, 255, 255];
      for (let n = el; n; n = n.parentElement) {
        const c = rgb(getComputedStyle(n).backgroundColor);
        if (c.length >= 3 && (c.length < 4 || c[3] > 0)) { bg = c.slice(0, 3); break; }
      }
      const fg = rgb(cs.color).slice(0, 3);
      const a = lum(fg), b = lum(bg);
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const r = el.getBoundingClientRect();
      const visible = r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' &&
        cs.display !== 'none' && Number(cs.opacity) > 0;
      return { text: el.textContent.trim(), color: cs.color, background: `rgb(${bg.join(', ')})`,
        ratio: Math.round(ratio * 100) / 100, visible };
    });
  });
}

// True when the page is wider than its viewport (a phone would scroll sideways).
async function overflowsX(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}

async function screenshot(page, file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// A DevTools virtual authenticator (CTAP2, internal, resident keys, user
// verification) on page's target: {cdp, authenticatorId}. Passkeys made in
// this page live in it; another context gets its own.
async function virtualAuthenticator(ctx, page, options = {}) {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: Object.assign({
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    }, options),
  });
  return { cdp, authenticatorId };
}

module.exports = { NPM, VIEWPORTS, launch, newContext, open, axe, readable, overflowsX,
  screenshot, virtualAuthenticator };
