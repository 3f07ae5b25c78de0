// What both browser specs share: the live server's address, the browser (playwright-core on
// Debian's Chromium, headless), signing in as a role's e2e staff member, opening a page with its
// expected status, and full-page screenshots. Started by e2e/run, which provides E2E_BASE_URL and
// the staff passwords.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const BASE = process.env.E2E_BASE_URL;
const SHOTS = process.env.E2E_SCREENSHOTS ?? "artifacts/screenshots";
const CHROMIUM = process.env.E2E_CHROMIUM ?? "/usr/bin/chromium";
export const WIDTH = 1440; // the width the live-ops pages are checked at
assert.ok(BASE, "E2E_BASE_URL is not set: run e2e/run");
mkdirSync(SHOTS, { recursive: true });

const password = (role) => {
  const value = process.env[`E2E_PASSWORD_${role.toUpperCase()}`];
  assert.ok(value, `E2E_PASSWORD_${role.toUpperCase()} is not set`);
  return value;
};

let browser;

// playwright-core gives every launch a fresh, temporary user-data-dir of its own.
export async function launchBrowser() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export async function closeBrowser() {
  await browser?.close();
}

export async function signIn(role) {
  const context = await browser.newContext({
    viewport: { width: WIDTH, height: 1000 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${BASE}/admin/login/`);
  await page.fill("#id_username", `e2e_${role}`);
  await page.fill("#id_password", password(role));
  await Promise.all([page.waitForURL(`${BASE}/admin/`), page.click("input[type=submit]")]);
  return { context, page };
}

export async function open(page, path, { status = 200 } = {}) {
  const response = await page.goto(`${BASE}${path}`);
  assert.equal(response.status(), status, `${path} answered ${response.status()}`);
  return response;
}

// Full page, cut at 2,400 px so long report tables stay readable in one image.
export async function shot(page, name) {
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.screenshot({
    path: join(SHOTS, `${name}.png`),
    fullPage: true,
    clip: { x: 0, y: 0, width: WIDTH, height: Math.min(height, 2400) },
  });
}
