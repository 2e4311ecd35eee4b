// Runs cross-origin fetch() calls in Debian's headless chromium and prints what happened.
//
// Usage: node cors_check.mjs '<json plan>'
//   plan = {"calls": [{"page": "http://127.0.0.1:A/", "url": "http://127.0.0.1:B/x",
//                      "method": "PUT", "headers": {...}, "body": "...",
//                      "cookie": {"name": "...", "value": "...", "url": "http://127.0.0.1:B"}}]}
// Prints one JSON object: {"results": [{"ok": true, "status": 200, "body": ..., "headers": {...}}
//                                      | {"ok": false, "error": "TypeError: Failed to fetch"}]}
// Each call runs in a fresh browser context, from a page loaded from "page", so the
// browser (not this script) applies the CORS protocol.

import { chromium } from 'playwright-core';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage', // containers often have a tiny /dev/shm
];

async function callFromPage(page, call) {
  return page.evaluate(async ({ url, method, headers, body }) => {
    try {
      const response = await fetch(url, { method, headers, body, credentials: 'include', mode: 'cors' });
      const readable = {};
      response.headers.forEach((value, name) => { readable[name] = value; });
      return { ok: true, status: response.status, body: await response.text(), headers: readable };
    } catch (error) {
      return { ok: false, error: String(error) };
    }
  }, call);
}

async function main() {
  const plan = JSON.parse(process.argv[2]);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
  const results = [];
  try {
    for (const call of plan.calls) {
      const context = await browser.newContext();
      try {
        if (call.cookie) {
          await context.addCookies([call.cookie]);
        }
        const page = await context.newPage();
        const loaded = await page.goto(call.page, { timeout: 30_000 });
        if (!loaded || !loaded.ok()) {
          throw new Error(`the page ${call.page} did not load`);
        }
        results.push(await callFromPage(page, call));
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify({ results }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(2);
});
