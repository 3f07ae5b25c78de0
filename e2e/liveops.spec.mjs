// Browser test of the live-ops home page and the retention report: each role that may see them
// signs in, screenshots them, downloads the retention CSV, and checks their figures against
// what e2e/seed.py wrote (players created on known past UTC days with events on known days).
// Started by e2e/run, which provides the live server (E2E_BASE_URL) and staff passwords.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { BASE, closeBrowser, launchBrowser, open, shot, signIn } from "./browser.mjs";

const DAY_MS = 86_400_000;
const utcDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const todayMs = Date.parse(`${utcDay(Date.now())}T00:00:00Z`);
const dayBefore = (days) => utcDay(todayMs - days * DAY_MS);
const YESTERDAY = dayBefore(1);
const COHORT = dayBefore(40); // ret_01..ret_03
const YOUNG = dayBefore(3); // ret_05

// The first seed block's players (player_001..006) have 3 events each at now - n hours (+0, 1,
// 2 minutes): some fall on yesterday when the test runs in the first hours of a UTC day.
function seededYesterday() {
  let players = 1; // ret_06
  let events = 2;
  for (let n = 1; n <= 6; n += 1) {
    const onYesterday = [0, 1, 2].filter((m) => utcDay(Date.now() - n * 3_600_000 + m * 60_000) === YESTERDAY).length;
    events += onYesterday;
    if (onYesterday) players += 1;
  }
  return { players, events };
}

before(launchBrowser);
after(closeBrowser);

// The text of each cell of a table row (sparklines have no text).
async function cells(page, selector) {
  return page.locator(`${selector} > th, ${selector} > td`).allInnerTexts().then((texts) => texts.map((t) => t.trim()));
}

const COINS = ["coins", "620", "11,220", "", "80", "1,680", ""];
const GEMS = ["gems", "5", "105", "", "0", "0", ""];

async function checkHome(page, role, { activity, players, pipeline, retention }) {
  await open(page, "/admin/");
  assert.equal(await page.locator("#site-name").innerText(), "Game backend live-ops");
  const seeded = seededYesterday();
  if (activity) {
    // 7 days: the first block's 6 players are active today only; ret_05 on Y-2, ret_06 on Y.
    assert.deepEqual(await cells(page, "#home-dau"), ["DAU", String(seeded.players), String(seeded.players + 1), ""]);
    assert.deepEqual((await cells(page, "#home-events"))[1], String(seeded.events));
    assert.equal(await page.locator("#home-dau svg.sparkline").count(), 1);
  } else {
    assert.equal(await page.locator("#home-dau").count(), 0);
  }
  if (players) {
    assert.deepEqual(await cells(page, "#home-new-players"), ["new players", "1", "2", ""]);
  } else {
    assert.equal(await page.locator("#home-new-players").count(), 0);
  }
  assert.deepEqual(await cells(page, "#home-currency-coins"), COINS);
  assert.deepEqual(await cells(page, "#home-currency-gems"), GEMS);
  if (pipeline) {
    assert.match((await cells(page, "#home-pipeline-latest"))[1], /^#\d+ (queued|running|succeeded|failed)\s*, queued /);
    assert.match((await cells(page, "#home-net-revenue"))[1], /^\d{1,3}(,\d{3})*\.\d{2}$/);
    assert.match((await cells(page, "#home-match-rate"))[1], /^\d+\.\d%$/);
    assert.match((await cells(page, "#home-arpdau"))[1], /^\d+\.\d{4}$/);
    assert.equal(await page.locator("#pipeline-warning").count(), 0);
  } else {
    assert.equal(await page.locator("#home-pipeline").count(), 0);
  }
  assert.equal(await page.locator('#reports-module a[href="/admin/reports/retention/"]').count(), retention ? 1 : 0);
  await shot(page, `liveops-${role}-01-home`);
}

async function checkRetention(page, role) {
  await open(page, `/admin/reports/retention/?day_from=${COHORT}`);
  const rows = await page.locator("#retention-table tbody tr").count();
  assert.equal(rows, 3);
  assert.deepEqual(await cells(page, "#retention-table tbody tr:nth-child(1)"), [COHORT, "3", "66.7%", "33.3%", "33.3%"]);
  assert.deepEqual(await cells(page, "#retention-table tbody tr:nth-child(2)"), [YOUNG, "1", "100.0%", "", ""]);
  // ret_06 joined yesterday: even D1 (today) is too young.
  assert.deepEqual(await cells(page, "#retention-table tbody tr:nth-child(3)"), [YESTERDAY, "1", "", "", ""]);
  assert.equal(await page.locator("#retention-chart svg").count(), 1);
  await shot(page, `liveops-${role}-02-retention`);

  await open(page, `/admin/reports/retention/?day_from=${COHORT}&day_to=${YESTERDAY}&by_campaign=on`);
  assert.deepEqual(await cells(page, "#retention-table tbody tr:nth-child(1)"), [COHORT, "(organic)", "(none)", "2", "50.0%", "50.0%", "0.0%"]);
  assert.deepEqual(await cells(page, "#retention-table tbody tr:nth-child(2)"), [COHORT, "facebook", "spring_sale", "1", "100.0%", "0.0%", "100.0%"]);
  await shot(page, `liveops-${role}-03-retention-by-campaign`);

  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#csv-retention")]);
  assert.equal(download.suggestedFilename(), `retention-${COHORT}-${YESTERDAY}-by-campaign.csv`);
  const text = readFileSync(await download.path(), "utf8");
  assert.equal(
    text,
    "cohort,media_source,campaign,players,d1_players,d1_rate,d7_players,d7_rate,d30_players,d30_rate\r\n" +
      `${COHORT},(organic),,2,1,0.5,1,0.5,0,0.0\r\n` +
      `${COHORT},facebook,spring_sale,1,1,1.0,0,0.0,1,1.0\r\n` +
      `${YOUNG},(organic),,1,1,1.0,,,,\r\n` +
      `${YESTERDAY},(organic),,1,,,,,,\r\n`,
  );
}

const ROLES = {
  support: { activity: true, players: true, pipeline: false, retention: true },
  economy: { activity: false, players: true, pipeline: false, retention: false },
  analyst: { activity: true, players: false, pipeline: true, retention: true },
};

for (const [role, sees] of Object.entries(ROLES)) {
  describe(`${role}: live-ops home and retention`, () => {
    let session;
    before(async () => {
      session = await signIn(role);
    });
    after(async () => session.context.close());

    test("home page figures", async () => {
      await checkHome(session.page, role, sees);
    });

    if (sees.retention) {
      test("retention report, chart and CSV", async () => {
        await checkRetention(session.page, role);
      });
    } else {
      test("retention report is refused", async () => {
        await open(session.page, "/admin/reports/retention/", { status: 403 });
        // A refused CSV is an empty 403: nothing of the table leaves.
        const csv = await session.page.request.get(`${BASE}/admin/reports/retention/?format=csv&table=retention`);
        assert.equal(csv.status(), 403);
        assert.equal(await csv.text(), "");
      });
    }
  });
}
