/** When things go wrong: the server drops the page's socket (the REST admin route, then a
 * SigV4-signed DELETE /@connections/{id}) while alerts are being published; the browser goes
 * offline and back; the token is expired or lacks the role. */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectionIdsOf, launchChromium, managementApi, mintToken, openDashboard, publish, rest, sleep, statesOf, uniqueName, violationsOf, waitFor } from "./support";

const stack = inject("stack");
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});


/** Publishes alerts titled `${tag} #n`, one every `everyMs`, until stopped. */
function alertStream(tag: string, everyMs = 80) {
  const published: string[] = [];
  let running = true;
  const done = (async () => {
    for (let index = 1; running; index++) {
      const title = `${tag} #${index}`;
      await publish(stack, "Alert", { title, message: `published ${index}`, severity: index % 7 === 0 ? "critical" : "warning" });
      published.push(title);
      await sleep(everyMs);
    }
  })();
  return {
    published,
    async stop() {
      running = false;
      await done;
    },
  };
}

const state = (page: Page) => page.getByTestId("connection-status").getAttribute("data-state");

async function titlesShown(page: Page, tag: string): Promise<string[]> {
  return page.locator(`[data-testid="alert-item"][data-title^="${tag} #"]`).evaluateAll((items) => items.map((item) => item.getAttribute("data-title") ?? ""));
}

describe("the server drops the socket", () => {
  it("reconnecting, then connected, twice; every alert published meanwhile appears exactly once", async () => {
    const opened = await openDashboard(browser, stack);
    const { page, user } = opened;
    const tag = uniqueName("drop");
    const stream = alertStream(tag);
    try {
      await waitFor(() => stream.published.length >= 3, "alerts to flow");

      // 1. The REST admin route closes every connection of the user.
      const closed = await rest(stack, "DELETE", `/users/${encodeURIComponent(user)}/connections`);
      expect(closed.status).toBe(200);
      expect(closed.body.closed).toHaveLength(1);
      await waitFor(async () => (await statesOf(page)).includes("reconnecting"), "reconnecting after the REST close");
      await page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout: 30_000 });
      const afterFirst = stream.published.length;
      await waitFor(() => stream.published.length >= afterFirst + 3, "more alerts");

      // 2. API Gateway's Management API: DeleteConnection on the new socket, SigV4-signed.
      let ids: string[] = [];
      await waitFor(async () => (ids = await connectionIdsOf(stack, user)).length >= 2, "the second connection's lifecycle event");
      expect(await managementApi(stack, "DELETE", ids.at(-1)!)).toBe(204);
      await waitFor(async () => (await statesOf(page)).filter((seen) => seen === "reconnecting").length === 2, "reconnecting after DeleteConnection");
      await page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout: 30_000 });
      const afterSecond = stream.published.length;
      await waitFor(() => stream.published.length >= afterSecond + 3, "more alerts");
    } finally {
      await stream.stop();
    }

    await expect.poll(async () => (await titlesShown(page, tag)).length, { timeout: 20_000 }).toBe(stream.published.length);
    const shown = await titlesShown(page, tag);
    expect(new Set(shown).size).toBe(shown.length); // no duplicate
    expect([...shown].sort()).toEqual([...stream.published].sort()); // none missing
    expect(shown).toEqual([...stream.published].reverse()); // newest first
    expect(await statesOf(page)).toEqual(["connecting", "connected", "reconnecting", "connected", "reconnecting", "connected"]);
    expect(await page.getByTestId("connection-status").getAttribute("data-reconnects")).toBe("2");
    console.log(`socket drops: ${stream.published.length} alerts published across two server-side closes, each shown once`);
    expect(opened.problems).toEqual([]);
    expect(await violationsOf(page)).toEqual([]);
    await opened.context.close();
  });
});

describe("offline", () => {
  it("offline (the socket lost with the network) then online: reconnecting, retries fail, back at once when online, every alert once", async () => {
    const opened = await openDashboard(browser, stack);
    const { page, context, user } = opened;
    const tag = uniqueName("offline");
    await context.setOffline(true);
    await page.getByTestId("connection-offline").waitFor();
    // Chromium's emulation leaves open sockets alone; a real network loss does not: the server
    // side of this one goes too.
    expect((await rest(stack, "DELETE", `/users/${encodeURIComponent(user)}/connections`)).status).toBe(200);
    await page.locator('[data-testid="connection-status"][data-state="reconnecting"]').waitFor({ timeout: 30_000 });
    const published: string[] = [];
    for (let index = 1; index <= 5; index++) {
      await publish(stack, "Alert", { title: `${tag} #${index}`, message: "while offline" });
      published.push(`${tag} #${index}`);
    }
    // Handshakes fail while offline: the attempts count up.
    await expect.poll(async () => Number(await page.getByTestId("connection-attempts").getAttribute("data-value")), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    expect(await state(page)).toBe("reconnecting");
    expect(await titlesShown(page, tag)).toEqual([]);
    const attempts = await page.getByTestId("connection-attempts").getAttribute("data-value");
    const online = Date.now();
    await context.setOffline(false); // `online`: the SDK retries at once instead of waiting out its backoff
    await page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout: 30_000 });
    const back = Date.now() - online;
    await expect.poll(() => page.getByTestId("connection-offline").count()).toBe(0);
    await expect.poll(async () => (await titlesShown(page, tag)).length, { timeout: 20_000 }).toBe(5);
    expect(await titlesShown(page, tag)).toEqual([...published].reverse());
    expect(await statesOf(page)).toEqual(["connecting", "connected", "reconnecting", "connected"]);
    console.log(`offline: ${attempts} handshakes failed while offline; connected ${back} ms after going online; 5 alerts shown once`);
    expect(await violationsOf(page)).toEqual([]);
    await context.close();
  });
});

describe("tokens", () => {
  it("an expired token → the sign-in form (GET /me: 401); a valid one pasted there → connected", async () => {
    const user = uniqueName("expired");
    const expired = mintToken(user, ["admin"], 60, 3_600); // issued an hour ago, valid for a minute
    const opened = await openDashboard(browser, stack, { token: expired, wait: false });
    const { page } = opened;
    await page.getByTestId("sign-in-form").waitFor();
    expect(await page.getByTestId("sign-in-error").textContent()).toMatch(/refused|expired/i);
    expect(await page.getByTestId("sign-in-form").getAttribute("data-mode")).toBe("token");
    expect(page.url()).toBe(stack.dashboardUrl); // the fragment is gone all the same
    expect(await page.evaluate(() => sessionStorage.getItem("realtime-dashboard.token"))).toBeNull();
    expect(await page.getByTestId("connection-status").count()).toBe(0);

    await page.getByTestId("sign-in-token").fill(`not a token`);
    await page.getByTestId("sign-in-submit").click();
    await expect.poll(() => page.getByTestId("sign-in-error").textContent()).toContain("not a JWT");
    await page.getByTestId("sign-in-token").fill(mintToken(user));
    await page.getByTestId("sign-in-submit").click();
    await page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("connection-user").getAttribute("data-user")).toBe(user);
    await opened.context.close();
  });

  it("no token → the sign-in form; a token without the connect role → the sign-in form saying why", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(stack.dashboardUrl);
    await page.getByTestId("sign-in-form").waitFor();
    expect(await page.getByTestId("sign-in-error").count()).toBe(0);
    const viewer = uniqueName("viewer");
    await page.getByTestId("sign-in-token").fill(mintToken(viewer, []));
    await page.getByTestId("sign-in-submit").click();
    await expect.poll(() => page.getByTestId("sign-in-error").textContent()).toContain(`${viewer} may not open the dashboard`);
    await context.close();
  });
});
