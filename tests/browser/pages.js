// pages.js — opens every page of a spec at every viewport and reports what a
// person would meet: HTTP status and headers, axe-core violations, the
// readability of the elements named by `readable`, sideways overflow, and a
// full-page screenshot. Spec (JSON file, argv[2]):
//   {"out": DIR, "viewports": ["phone","desktop"],
//    "pages": [{"name", "url", "locale"?, "readable"?: selector, "text"?: [..]}]}
// Prints one JSON document: {"pages": [{name, viewport, status, headers,
// violations, readable, overflow, screenshot, missing_text}]}. Exit 77 when
// Chromium cannot start, 1 on a harness error; findings are the caller's to judge.
'use strict';
const fs = require('fs');
const path = require('path');
const h = require('./harness');

(async () => {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  let browser;
  try {
    browser = await h.launch();
  } catch (e) {
    console.error(e.message);
    process.exit(e.code === 'NO_BROWSER' ? 77 : 1);
  }
  const out = [];
  try {
    for (const vp of spec.viewports || ['phone', 'desktop']) {
      for (const p of spec.pages) {
        const ctx = await h.newContext(browser, vp, { locale: p.locale, headers: p.headers });
        const { page, status, headers } = await h.open(ctx, p.url);
        const shot = await h.screenshot(page, path.join(spec.out, `${p.name}-${vp}.png`));
        const body = await page.evaluate(() => document.body.innerText);
        const r = {
          name: p.name, viewport: vp, status, screenshot: shot,
          headers: { 'content-language': headers['content-language'], vary: headers.vary },
          lang: await page.evaluate(() => document.documentElement.lang),
          overflow: await h.overflowsX(page),
          readable: p.readable ? await h.readable(page, p.readable) : [],
          missing_text: (p.text || []).filter(t => !body.includes(t)),
          violations: await h.axe(page),
        };
        out.push(r);
        await ctx.close();
      }
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify({ pages: out }) + '\n');
})().catch(e => { console.error(e.stack || e.message); process.exit(1); });
