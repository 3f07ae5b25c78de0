// Browser test of the live-ops admin: each role signs in, opens its pages, does its job, and
// is refused what belongs to another role. Started by e2e/run, which provides a live server
// (E2E_BASE_URL) with demo data, the task worker, and staff passwords in the environment.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { closeBrowser, launchBrowser, open, shot, signIn } from "./browser.mjs";

before(launchBrowser);
after(closeBrowser);

async function rowCount(page, selector = "#result_list tbody tr") {
  return page.locator(selector).count();
}

// Every column of a list is on screen at 1440 px: the table neither scrolls sideways nor runs
// past the window (long userIds, campaigns, notes and reasons wrap inside their cells).
async function assertColumnsFit(page, path) {
  await open(page, path);
  const width = await page.evaluate(() => {
    const results = document.querySelector("#changelist .results");
    const table = document.querySelector("#result_list");
    return {
      scroll: results.scrollWidth,
      client: results.clientWidth,
      right: table.getBoundingClientRect().right,
      window: window.innerWidth,
    };
  });
  const fits = width.scroll <= width.client && width.right <= width.window;
  if (!fits) await shot(page, `cut-off${path.replace(/\W+/g, "-")}`); // the evidence
  assert.ok(
    fits,
    `${path}: the table is ${width.scroll} px wide in ${width.client} px (right edge ` +
      `${width.right} of ${width.window}): its right-most columns are cut off`,
  );
}

describe("support", () => {
  let session;
  before(async () => {
    session = await signIn("support");
  });
  after(async () => session.context.close());

  test("finds a player and reads their wallet, ledger, events and attribution", async () => {
    const { page } = session;
    await shot(page, "support-01-index");
    await open(page, "/admin/accounts/user/?q=player_00&is_staff__exact=0");
    assert.equal(await rowCount(page), 6);
    await shot(page, "support-02-players");
    await open(page, "/admin/accounts/user/?media_source=facebook");
    assert.ok((await rowCount(page)) >= 1);
    // By campaign, from the campaign column's link; every row links to its player.
    await open(page, "/admin/accounts/user/?q=player_002");
    await Promise.all([
      page.waitForURL(/\?campaign=tiktok%7Claunch$/),
      page.click("#result_list td.field-campaign a"),
    ]);
    assert.ok((await rowCount(page)) >= 1);
    assert.equal(
      await rowCount(page),
      await rowCount(page, "#result_list td.field-campaign a:text-is('launch')"),
    );
    for (const path of [
      "/admin/accounts/user/",
      "/admin/accounts/user/?status=banned",
      "/admin/telemetry/event/",
      "/admin/telemetry/playerattribution/",
      "/admin/telemetry/click/",
    ]) {
      await assertColumnsFit(page, path);
    }
    await open(page, "/admin/telemetry/playerattribution/?q=player_002");
    await Promise.all([
      page.waitForURL(/\/accounts\/user\/\d+\/change\/$/),
      page.click("#result_list td.field-player_link a"),
    ]);
    await open(page, "/admin/accounts/user/?q=player_002");
    await page.click("#result_list tbody tr a");
    await page.waitForSelector("#player-balances");
    const balances = await page.locator("#player-balances tbody").innerText();
    assert.match(balances, /coins\s.*\s1,?000|coins[^\n]*\t\d+/);
    assert.ok((await rowCount(page, "#player-ledger tbody tr")) >= 4);
    assert.ok((await rowCount(page, "#player-events tbody tr")) >= 3);
    assert.match(await page.locator("#player-attribution").innerText(), /tiktok|google|facebook/);
    assert.equal(await page.locator("a.adjust-link").count(), 0); // not this role's job
    // The game panels come first, above the account's fieldsets (permissions and all).
    const panelsTop = (await page.locator("#player-balances").boundingBox()).y;
    const attributionTop = (await page.locator("#player-attribution").boundingBox()).y;
    const fieldsetTop = (await page.locator("#user_form fieldset").first().boundingBox()).y;
    assert.ok(panelsTop < 400, `balances start at ${panelsTop} px`);
    assert.ok(attributionTop < fieldsetTop, "attribution is above the fieldsets");
    // View only: no "Set password" button (its page is 403) and no Save buttons.
    assert.equal(await page.locator('a[href="../password/"]').count(), 0);
    assert.equal(await page.locator("input[name=_save], input[name=_continue]").count(), 0);
    await shot(page, "support-03-player-detail");
  });

  test("bans with a required reason, then unbans; both are in the admin log", async () => {
    const { page } = session;
    await open(page, "/admin/accounts/user/?q=player_003");
    await page.click("#result_list tbody tr a");
    await page.click("a.ban-link");
    await page.click(".submit-row input[type=submit]"); // no reason: the form refuses
    assert.equal(await page.locator("#id_reason:invalid").count(), 1);
    assert.match(page.url(), /\/ban\/$/);
    await shot(page, "support-04-ban-reason-required");
    await page.fill("#id_reason", "Speed hack in ranked match (e2e)");
    await page.click(".submit-row input[type=submit]");
    await page.waitForSelector("#player-status .status-banned");
    assert.match(await page.locator(".messagelist").innerText(), /Banned player_003/);
    await shot(page, "support-05-player-banned");
    await open(page, "/admin/accounts/user/?status=banned");
    assert.match(await page.locator("#result_list").innerText(), /player_003/);
    await page.click("#result_list a:text-is('player_003')");
    await page.click("a.unban-link");
    await page.fill("#id_reason", "Appeal accepted (e2e)");
    await page.click(".submit-row input[type=submit]");
    await page.waitForSelector("#player-status .status-active");
    await open(page, "/admin/");
    assert.match(await page.locator("#recent-actions-module").innerText(), /player_003/);
  });

  test("browses events and clicks with day and type filters", async () => {
    const { page } = session;
    await open(page, "/admin/telemetry/event/");
    assert.ok((await rowCount(page)) >= 18);
    await open(page, "/admin/telemetry/event/?event_type=level_complete");
    assert.equal(await rowCount(page), 6);
    await shot(page, "support-06-events");
    await open(page, "/admin/telemetry/click/");
    assert.ok((await rowCount(page)) >= 6);
    await shot(page, "support-07-clicks");
  });

  test("is refused the economy and analytics actions", async () => {
    const { page } = session;
    await open(page, "/admin/accounts/user/1/adjust-balance/", { status: 403 });
    await open(page, "/admin/economy/currency/add/", { status: 403 });
    await open(page, "/admin/economy/earnrule/", { status: 403 });
    await open(page, "/admin/analytics/pipelinerun/", { status: 403 });
    await open(page, "/admin/reports/roas/", { status: 403 });
  });
});

describe("economy", () => {
  let session;
  before(async () => {
    session = await signIn("economy");
  });
  after(async () => session.context.close());

  test("adjusts a wallet with a note: one ledger entry with the staff member as actor", async () => {
    const { page } = session;
    await open(page, "/admin/accounts/user/?q=player_004");
    await page.click("#result_list tbody tr a");
    await page.click("a.adjust-link");
    await page.selectOption("#id_currency", "coins");
    await page.fill("#id_amount", "250");
    await page.fill("#id_note", "Compensation for the outage (e2e)");
    await shot(page, "economy-01-adjust-form");
    await page.click("#adjust-form .submit-row input[type=submit]");
    await page.waitForSelector(".messagelist");
    assert.match(await page.locator(".messagelist").innerText(), /Adjusted coins by \+250/);
    const newest = page.locator("#player-ledger tbody tr").first();
    const text = await newest.innerText();
    assert.match(text, /adjustment/);
    assert.match(text, /\+250/);
    assert.match(text, /e2e_economy/);
    assert.match(text, /Compensation for the outage \(e2e\)/);
    assert.equal(await page.locator('a[href="../password/"]').count(), 0); // view only
    assert.equal(await page.locator("input[name=_save]").count(), 0);
    await shot(page, "economy-02-player-after-adjustment");
  });

  test("reads the read-only ledger and wallets, manages currencies and earn rules", async () => {
    const { page } = session;
    await assertColumnsFit(page, "/admin/economy/ledgerentry/");
    await assertColumnsFit(page, "/admin/economy/wallet/");
    await open(page, "/admin/economy/ledgerentry/");
    assert.ok((await rowCount(page)) >= 20);
    assert.equal(await page.locator(".object-tools a.addlink").count(), 0); // no "Add" button
    await shot(page, "economy-03-ledger");
    await Promise.all([
      page.waitForURL(/\/ledgerentry\/\d+\/change\/$/),
      page.locator("#result_list tbody tr a").first().click(),
    ]);
    assert.match(await page.locator("#content").innerText(), /balance after/i);
    assert.equal(await page.locator("input[name=_save]").count(), 0); // read-only entry
    await open(page, "/admin/economy/wallet/");
    assert.ok((await rowCount(page)) >= 12);
    await Promise.all([
      page.waitForURL(/\/wallet\/\d+\/change\/$/),
      page.locator("#result_list .field-balance a").first().click(),
    ]);
    assert.equal(await page.locator("input[name=_save], input[name=_continue]").count(), 0);
    assert.equal(await page.locator(".object-tools a:has-text('Adjust balance')").count(), 1);
    await open(page, "/admin/economy/earnrule/add/");
    await page.fill("#id_reason", "daily_login");
    await page.selectOption("#id_currency", { label: "coins" });
    await page.fill("#id_max_per_grant", "5000");
    await page.click("input[name=_save]");
    await page.waitForSelector(".messagelist");
    assert.match(await page.locator("#result_list").innerText(), /daily_login/);
    await shot(page, "economy-04-earn-rules");
    await open(page, "/admin/economy/currency/");
    assert.match(await page.locator("#result_list").innerText(), /gems/);
  });

  test("reads the economy sources and sinks report", async () => {
    const { page } = session;
    await open(page, "/admin/reports/economy/");
    assert.ok((await page.locator(".chart svg").count()) >= 2);
    assert.ok((await page.locator(".chart svg rect.bar").count()) >= 2);
    assert.match(await page.locator("#flows-summary").innerText(), /shop_sword/);
    await shot(page, "economy-05-sources-and-sinks");
  });

  test("is refused bans and the ledger stays closed to edits", async () => {
    const { page } = session;
    await open(page, "/admin/accounts/user/2/ban/", { status: 403 });
    await open(page, "/admin/economy/ledgerentry/add/", { status: 403 });
  });
});

describe("analyst", () => {
  let session;
  before(async () => {
    session = await signIn("analyst");
  });
  after(async () => session.context.close());

  test("runs the pipeline from the button and watches it succeed", async () => {
    const { page } = session;
    await open(page, "/admin/analytics/pipelinerun/");
    const before = await rowCount(page);
    assert.ok(before >= 1, "e2e/run ran the pipeline once");
    await page.click("text=Run pipeline");
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await page.fill("#id_date", yesterday);
    await shot(page, "analyst-01-run-pipeline-form");
    const started = Date.now();
    await Promise.all([page.waitForURL(/pipelinerun\/\d+\/change\/$/), page.click("input[type=submit]")]);
    assert.ok(Date.now() - started < 5_000, "queuing returns at once");
    const message = await page.locator(".messagelist").innerText();
    const runId = message.match(/Pipeline run (\d+) for (\S+) is queued/);
    assert.ok(runId, message);
    assert.equal(runId[2], yesterday);
    await open(page, `/admin/analytics/pipelinerun/${runId[1]}/change/`);
    await page.waitForSelector(".run-status-succeeded, .run-status-failed", { timeout: 120_000 });
    assert.equal(await page.locator(".run-status-succeeded").count(), 1, await page.content());
    assert.ok((await rowCount(page, "#run-stages tbody tr")) >= 5);
    await shot(page, "analyst-02-run-succeeded");
    await open(page, "/admin/analytics/pipelinerun/");
    assert.equal(await rowCount(page), before + 1);
    await shot(page, "analyst-03-pipeline-runs");
  });

  test("reads ROAS with anomalies, ARPDAU and reconciliation as tables and charts", async () => {
    const { page } = session;
    await open(page, "/admin/");
    await Promise.all([
      page.waitForURL(/\/admin\/reports\/roas\/$/),
      page.click("#reports-module a:has-text('ROAS per campaign')"),
    ]);
    assert.ok((await page.locator(".roas-chart svg polyline").count()) >= 1);
    assert.ok((await rowCount(page, "#roas-table tbody tr")) >= 20);
    await shot(page, "analyst-04-roas");
    await open(page, "/admin/reports/arpdau/");
    assert.ok((await page.locator("#arpdau-total-chart svg circle.point").count()) >= 20);
    assert.ok((await page.locator("#arpdau-campaign-chart svg polyline").count()) >= 1);
    assert.ok((await rowCount(page, "#arpdau-totals tbody tr")) >= 20);
    await shot(page, "analyst-05-arpdau");
    await open(page, "/admin/reports/reconciliation/");
    assert.ok((await rowCount(page, "#reconciliation-table tbody tr")) >= 2);
    assert.ok((await page.locator("#reconciliation-chart svg rect.bar").count()) === 4);
    await shot(page, "analyst-06-reconciliation");
    await open(page, "/admin/reports/economy/");
    await open(page, "/admin/telemetry/event/?event_type=session_start");
    assert.ok((await rowCount(page)) >= 6);
  });

  test("reads every staff member's actions in the audit log", async () => {
    const { page } = session;
    await open(page, "/admin/admin/logentry/");
    const log = await page.locator("#result_list").innerText();
    assert.match(log, /Banned: Speed hack in ranked match \(e2e\)/); // support's
    assert.match(log, /Adjusted coins by \+250/); // economy's
    assert.equal(await page.locator(".object-tools a.addlink").count(), 0);
    await shot(page, "analyst-07-audit-log");
  });

  test("is refused players, bans and adjustments", async () => {
    const { page } = session;
    await open(page, "/admin/accounts/user/", { status: 403 });
    await open(page, "/admin/accounts/user/2/ban/", { status: 403 });
    await open(page, "/admin/accounts/user/2/adjust-balance/", { status: 403 });
    await open(page, "/admin/economy/currency/add/", { status: 403 });
  });
});
