/** The dashboard in headless Chromium against the real local stack: it loads and connects,
 * draws every widget from the snapshot, updates every panel live, publishes from its form,
 * pauses and resumes panels without losing a message; screenshots in light and dark. */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium, openDashboard, publish, screenshot, statesOf, uniqueName, violationsOf, type Opened } from "./support";

const stack = inject("stack");
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const byId = (page: Page, id: string) => page.getByTestId(id);
const value = (page: Page, name: string) => page.locator(`[data-testid="metric-value-${name}"]`).first();

async function closeAll(opened: Opened) {
  expect(opened.problems).toEqual([]);
  expect(await violationsOf(opened.page)).toEqual([]);
  await opened.context.close();
}

describe("loading", () => {
  it("connects, draws every widget from getPlatformStats at once, and keeps the token out of the address bar and the server's requests", async () => {
    const tag = uniqueName("snap");
    await publish(stack, "UserCountUpdate", { totalUsers: 4242, activeUsers: 420 });
    await publish(stack, "GenerationMetrics", { totalGenerations: 9001, generationsLastHour: 77, averageDurationMs: 812.5, failedGenerations: 4 });
    await publish(stack, "RevenueUpdate", { totalRevenue: 1234.5, currency: "EUR", period: "today" });
    await publish(stack, "AnalyticsUpdate", { metrics: { snapshotMetric: 17 } });
    await publish(stack, "PlatformStatus", { status: "degraded", message: `lag ${tag}`, services: { db: "degraded", api: "healthy" } });
    await publish(stack, "SystemEvent", { eventType: "deploy", message: `deployed ${tag}` });
    await publish(stack, "Alert", { title: `snapshot alert ${tag}`, message: "from before the page opened", severity: "warning" });
    await publish(stack, "UserAction", { userId: tag, action: "login" });

    const requests: string[] = [];
    const sockets: string[] = [];
    const opened = await openDashboard(browser, stack, {
      context: {},
    }).then(async (result) => result);
    const { page, token } = opened;
    page.on("request", (request) => requests.push(request.url()));
    page.on("websocket", (socket) => sockets.push(socket.url()));

    await expect.poll(() => byId(page, "connection-status").getAttribute("data-state")).toBe("connected");
    expect(await statesOf(page)).toEqual(["connecting", "connected"]);
    await expect.poll(() => value(page, "totalUsers").getAttribute("data-value")).toBe("4242");
    expect(await value(page, "activeUsers").getAttribute("data-value")).toBe("420");
    expect(await value(page, "totalGenerations").getAttribute("data-value")).toBe("9001");
    expect(await value(page, "failedGenerations").getAttribute("data-value")).toBe("4");
    expect(await value(page, "totalRevenue").getAttribute("data-currency")).toBe("EUR");
    expect(await value(page, "totalRevenue").textContent()).toContain("1,234.5");
    expect(await value(page, "snapshotMetric").getAttribute("data-value")).toBe("17");
    expect(await byId(page, "platform-status").getAttribute("data-status")).toBe("degraded");
    expect(await byId(page, "service-status-db").getAttribute("data-status")).toBe("degraded");
    await expect.poll(() => page.getByTestId("system-event-item").filter({ hasText: `deployed ${tag}` }).count()).toBe(1);
    await expect.poll(() => page.locator(`[data-testid="alert-item"][data-title="snapshot alert ${tag}"]`).count()).toBe(1);
    await expect.poll(() => page.locator(`[data-testid="activity-item"][data-user="${tag}"]`).count()).toBe(1);
    await expect.poll(() => byId(page, "connection-user").getAttribute("data-user")).toBe(opened.user);

    // The token: in this tab's sessionStorage, not in the address bar, never in a request URL.
    expect(page.url()).toBe(stack.dashboardUrl);
    expect(await page.evaluate(() => sessionStorage.getItem("realtime-dashboard.token"))).toBe(token);
    await page.getByTestId("presence-refresh").click();
    await page.reload();
    await page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor();
    expect(requests.filter((url) => url.includes(token))).toEqual([]);
    expect(sockets.length).toBeGreaterThan(0);
    expect(sockets.every((url) => url.startsWith(`${stack.wsUrl}?token=`))).toBe(true);
    await closeAll(opened);
  });
});

describe("live updates", () => {
  it("every panel shows its event types as they are published", async () => {
    const opened = await openDashboard(browser, stack);
    const { page, user } = opened;
    const tag = uniqueName("live");
    await publish(stack, "UserCountUpdate", { totalUsers: 5150, activeUsers: 515, newUsersToday: 51 });
    await publish(stack, "GenerationMetrics", { totalGenerations: 123456, generationsLastHour: 321 });
    await publish(stack, "RevenueUpdate", { totalRevenue: 98765.43, currency: "JPY" });
    await publish(stack, "AnalyticsUpdate", { metrics: { [`rps_${unique()}`]: 1250, cpu: 0.62 } });
    await publish(stack, "PlatformStatus", { status: "down", message: `outage ${tag}`, services: { checkout: "down", search: "degraded", web: "healthy" } });
    await publish(stack, "SystemEvent", { eventType: "failover", message: `failover ${tag}`, source: "ops" });
    await publish(stack, "TestMessage", { message: `hello ${tag}` });
    await publish(stack, "Alert", { title: `disk ${tag}`, message: "/var at 91%", severity: "critical", source: "node-3" });
    await publish(stack, "PerformanceAlert", { metric: `p99 ${tag}`, value: 912, threshold: 500, unit: "ms", service: "checkout" });
    await publish(stack, "UserAction", { userId: `${tag}-u`, action: "export", details: { rows: 1200 } });
    await publish(stack, "RoleAssignment", { userId: `${tag}-r`, role: "editor", change: "revoked", by: "alice" });

    await expect.poll(() => value(page, "totalUsers").getAttribute("data-value")).toBe("5150");
    expect(await value(page, "newUsersToday").getAttribute("data-value")).toBe("51");
    expect(await value(page, "generationsLastHour").getAttribute("data-value")).toBe("321");
    expect(await value(page, "totalRevenue").getAttribute("data-currency")).toBe("JPY");
    expect(await value(page, "cpu").getAttribute("data-value")).toBe("0.62");
    await expect.poll(() => byId(page, "platform-status").getAttribute("data-status")).toBe("down");
    expect(await byId(page, "platform-status").textContent()).toContain(`outage ${tag}`);
    expect(await byId(page, "service-status-checkout").getAttribute("data-status")).toBe("down");
    expect(await byId(page, "service-status-checkout").textContent()).toContain("Down"); // not colour alone
    expect(await byId(page, "service-status-search").getAttribute("data-status")).toBe("degraded");
    await expect.poll(() => page.getByTestId("system-event-item").filter({ hasText: `failover ${tag}` }).count()).toBe(1);
    await expect.poll(() => page.locator('[data-testid="system-event-item"][data-kind="TestMessage"]').filter({ hasText: `hello ${tag}` }).count()).toBe(1);

    const critical = page.locator(`[data-testid="alert-item"][data-title="disk ${tag}"]`);
    await expect.poll(() => critical.getAttribute("data-severity")).toBe("critical");
    expect(await critical.textContent()).toContain("Critical");
    const performance = page.locator(`[data-testid="alert-item"][data-title="p99 ${tag} over threshold"]`);
    await expect.poll(() => performance.getAttribute("data-kind")).toBe("PerformanceAlert");
    expect(await performance.textContent()).toContain("912 ms, threshold 500 ms (182% of it)");
    // Newest first: the performance alert came after the critical one.
    const titles = await page.getByTestId("alert-item").evaluateAll((items) => items.map((item) => item.getAttribute("data-title")));
    expect(titles.indexOf(`p99 ${tag} over threshold`)).toBeLessThan(titles.indexOf(`disk ${tag}`));
    // The critical alert toasted, as an alert for assistive technology too.
    const toast = page.getByTestId("toast").filter({ hasText: `disk ${tag}` });
    await expect.poll(() => toast.count()).toBe(1);
    expect(await toast.getAttribute("role")).toBe("alert");

    await expect.poll(() => page.locator(`[data-testid="activity-item"][data-user="${tag}-u"]`).textContent()).toContain("export");
    expect(await page.locator(`[data-testid="activity-item"][data-user="${tag}-r"]`).textContent()).toContain("lost role editor");

    // Presence: this page is in every group it subscribed to.
    await expect.poll(async () => Number(await byId(page, "presence-alerts").getAttribute("data-connections")), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    expect(Number(await byId(page, "presence-alerts").getAttribute("data-users"))).toBeGreaterThanOrEqual(1);
    expect(await byId(page, "presence-alerts").textContent()).toBeTruthy();
    expect(user).toBeTruthy();
    await closeAll(opened);
  });

  it("alerts: unread count, acknowledge, dismiss, severity filter, keyboard", async () => {
    const opened = await openDashboard(browser, stack);
    const { page } = opened;
    const tag = uniqueName("ack");
    const unread = async () => Number(await byId(page, "alert-unread-count").getAttribute("data-count"));
    const before = await unread();
    await publish(stack, "Alert", { title: `${tag} one`, message: "m", severity: "error" });
    await publish(stack, "Alert", { title: `${tag} two`, message: "m", severity: "info" });
    await expect.poll(unread).toBe(before + 2);
    const one = page.locator(`[data-testid="alert-item"][data-title="${tag} one"]`);
    await one.getByTestId("alert-ack").click();
    await expect.poll(() => one.getAttribute("data-acknowledged")).toBe("true");
    expect(await unread()).toBe(before + 1);
    // By keyboard: Tab reaches the dismiss button, Enter presses it.
    const two = page.locator(`[data-testid="alert-item"][data-title="${tag} two"]`);
    await two.getByTestId("alert-ack").focus();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("alert-dismiss");
    await page.keyboard.press("Enter");
    await expect.poll(() => two.count()).toBe(0);
    expect(await unread()).toBe(before);
    await byId(page, "alert-filter-error").click();
    expect(await page.getByTestId("alert-item").evaluateAll((items) => items.every((item) => item.getAttribute("data-severity") === "error"))).toBe(true);
    await byId(page, "alert-filter-all").click();
    await byId(page, "alert-ack-all").click();
    await expect.poll(unread).toBe(0);
    await closeAll(opened);
  });
});

describe("publish form", () => {
  it("checks fields before sending, shows server errors with their code, and publishes what another panel then shows", async () => {
    const opened = await openDashboard(browser, stack);
    const { page } = opened;
    const tag = uniqueName("form");
    await byId(page, "publish-type").selectOption("UserCountUpdate");
    expect(await byId(page, "publish-group").inputValue()).toBe("analytics");
    await byId(page, "publish-field-totalUsers").fill("10");
    await byId(page, "publish-field-activeUsers").fill("11");
    await byId(page, "publish-submit").click();
    await expect.poll(() => byId(page, "publish-result").getAttribute("data-status")).toBe("invalid");
    expect(await byId(page, "publish-error-activeUsers").textContent()).toBe("Active users cannot exceed total users.");
    expect(await byId(page, "publish-field-activeUsers").getAttribute("aria-invalid")).toBe("true");

    await byId(page, "publish-type").selectOption("Alert");
    await byId(page, "publish-submit").click();
    expect(await byId(page, "publish-error-title").textContent()).toBe("Title is required.");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("publish-field-title"); // focus on the first problem

    // Valid here, refused by the server: its code is shown.
    await byId(page, "publish-field-title").fill(`${tag} nowhere`);
    await byId(page, "publish-field-message").fill("to a group that does not exist");
    await byId(page, "publish-group").fill("no-such-group");
    await byId(page, "publish-submit").click();
    await expect.poll(() => byId(page, "publish-result").getAttribute("data-status")).toBe("error");
    expect(await byId(page, "publish-result").getAttribute("data-code")).toBe("UnknownGroup");
    expect(await byId(page, "publish-result").textContent()).toContain("UnknownGroup");

    await byId(page, "publish-group").fill("alerts");
    await byId(page, "publish-field-title").fill(`${tag} from the form`);
    await byId(page, "publish-field-severity").selectOption("warning");
    await byId(page, "publish-submit").click();
    await expect.poll(() => byId(page, "publish-result").getAttribute("data-status")).toBe("ok");
    expect(await byId(page, "publish-result").textContent()).toMatch(/Published Alert to alerts · seq \d+ · delivered to \d+ of \d+/);
    const item = page.locator(`[data-testid="alert-item"][data-title="${tag} from the form"]`);
    await expect.poll(() => item.getAttribute("data-severity")).toBe("warning");

    await byId(page, "publish-type").selectOption("AnalyticsUpdate");
    await byId(page, "publish-field-metrics").fill(`{"${tag.replace(/-/g, "_")}": 42}`);
    await byId(page, "publish-submit").click();
    await expect.poll(() => value(page, tag.replace(/-/g, "_")).getAttribute("data-value")).toBe("42");
    await closeAll(opened);
  });
});

describe("pause and resume", () => {
  it("a paused panel leaves its group and ignores it; resumed, it catches up on exactly what it missed", async () => {
    const opened = await openDashboard(browser, stack);
    const { page } = opened;
    const tag = uniqueName("pause");
    await publish(stack, "Alert", { title: `${tag} before`, message: "m" });
    await expect.poll(() => page.locator(`[data-testid="alert-item"][data-title="${tag} before"]`).count()).toBe(1);
    const members = async () => Number((await (await fetch(`${stack.restUrl}/groups/alerts`, { headers: { Authorization: `Bearer ${opened.token}` } })).json()).connections);
    const joined = await members();

    await byId(page, "alert-center-pause").click();
    await expect.poll(() => byId(page, "alert-center-feed").getAttribute("data-state")).toBe("paused");
    expect(await byId(page, "alert-center-pause").getAttribute("aria-pressed")).toBe("true");
    await expect.poll(members).toBe(joined - 1); // unsubscribed on the server
    for (const index of [1, 2, 3]) await publish(stack, "Alert", { title: `${tag} missed ${index}`, message: "m" });
    await page.waitForTimeout(500);
    expect(await page.locator(`[data-testid="alert-item"][data-title^="${tag} missed"]`).count()).toBe(0);
    // Other panels carry on meanwhile.
    await publish(stack, "UserAction", { userId: `${tag}-u`, action: "still live" });
    await expect.poll(() => page.locator(`[data-testid="activity-item"][data-user="${tag}-u"]`).count()).toBe(1);

    await byId(page, "alert-center-pause").click();
    await expect.poll(() => byId(page, "alert-center-feed").getAttribute("data-state")).toBe("subscribed");
    await expect.poll(() => page.locator(`[data-testid="alert-item"][data-title^="${tag} missed"]`).count()).toBe(3);
    await publish(stack, "Alert", { title: `${tag} after`, message: "m" });
    await expect.poll(() => page.locator(`[data-testid="alert-item"][data-title="${tag} after"]`).count()).toBe(1);
    const titles = await page.locator(`[data-testid="alert-item"][data-title^="${tag}"]`).evaluateAll((items) => items.map((item) => item.getAttribute("data-title")));
    expect(titles).toEqual([`${tag} after`, `${tag} missed 3`, `${tag} missed 2`, `${tag} missed 1`, `${tag} before`]);
    await closeAll(opened);
  });
});

describe("screenshots", () => {
  it("full page, light and dark, wall display and laptop", async () => {
    const opened = await openDashboard(browser, stack, { context: { colorScheme: "light" } });
    const { page } = opened;
    await publish(stack, "PlatformStatus", { status: "degraded", message: "Replica lag on db-2", services: { api: "healthy", auth: "healthy", cdn: "healthy", db: "degraded", queue: "healthy", search: "down" } });
    for (let index = 0; index < 6; index++) {
      await publish(stack, "UserCountUpdate", { totalUsers: 1200 + index * 9, activeUsers: 80 + ((index * 13) % 40), newUsersToday: 30 + index });
      await publish(stack, "AnalyticsUpdate", { metrics: { cpu: 0.45 + Math.sin(index) * 0.2, requestsPerSecond: 1200 + index * 40, p99LatencyMs: 300 + ((index * 37) % 200), errorRate: 0.01 * (index % 4) } });
      await publish(stack, "GenerationMetrics", { totalGenerations: 50_000 + index * 30, generationsLastHour: 300 + index * 5, averageDurationMs: 840 + index, failedGenerations: index % 3 });
      await publish(stack, "RevenueUpdate", { totalRevenue: 18_250.75 + index * 120, currency: "EUR", period: "today" });
    }
    const severities = ["info", "warning", "error", "critical", "success", "warning"];
    for (const [index, severity] of severities.entries()) {
      await publish(stack, "Alert", { title: ["Disk almost full", "Queue backlog growing", "Payment webhook failing", "Primary database unreachable", "Backup completed", "Certificate expires in 7 days"][index]!, message: ["/var at 91% on node-3", "2,400 messages waiting", "HTTP 502 from the provider", "failover in progress", "nightly snapshot done in 4 min", "api.example.com"][index]!, severity, source: `node-${index}` });
    }
    await publish(stack, "PerformanceAlert", { metric: "p99Latency", value: 912, threshold: 500, unit: "ms", service: "checkout" });
    for (const [index, action] of ["login", "export", "login", "password reset"].entries()) await publish(stack, "UserAction", { userId: `u-${17 + index}`, action, details: { ip: `203.0.113.${index + 7}` } });
    await publish(stack, "RoleAssignment", { userId: "u-17", role: "editor", change: "assigned", by: "alice" });
    await publish(stack, "SystemEvent", { eventType: "deploy", message: "v2.3.1 is live", source: "ci" });
    await expect.poll(() => page.locator('[data-testid="alert-item"][data-title="Primary database unreachable"]').count()).toBe(1);
    await page.getByTestId("toast-dismiss").evaluateAll((buttons) => buttons.forEach((button) => (button as HTMLButtonElement).click()));
    await page.waitForTimeout(300);
    const paths = [await screenshot(page, "dashboard-1920-light")];
    await page.emulateMedia({ colorScheme: "dark" }); // prefers-color-scheme
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
    await page.waitForTimeout(300);
    paths.push(await screenshot(page, "dashboard-1920-dark"));
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.getByTestId("theme-toggle").click(); // auto → light (the toggle wins over the system)
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe("light");
    await page.waitForTimeout(300);
    paths.push(await screenshot(page, "dashboard-1366-light"));
    await page.getByTestId("theme-toggle").click(); // light → dark
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
    await page.waitForTimeout(300);
    paths.push(await screenshot(page, "dashboard-1366-dark"));
    console.log(`screenshots:\n  ${paths.join("\n  ")}`);
    await closeAll(opened);
  });
});

let counter = 0;
function unique(): number {
  return ++counter;
}
