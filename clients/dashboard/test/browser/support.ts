/** What the browser tests share: Chromium (Debian's, driven by playwright-core), tokens for
 * the local stack, REST publishes, closing the page's socket from the server side, and what
 * the page recorded. */
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import aws4 from "aws4";
import { mintToken } from "../../../sdk/test/e2e/stack";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from "playwright-core";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
export const SCREENSHOTS = join(REPO, "clients/dashboard/screenshots");

export interface StackUrls {
  baseUrl: string;
  wsUrl: string;
  restUrl: string;
  dashboardUrl: string;
  port: number;
}

/** The flags this machine needs (no sandbox as root, no GPU, nothing phoning home). */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Playwright gives every launch a fresh, temporary user-data dir of its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** Local development JWTs: the SDK's end-to-end tests mint them the same way. */
export { mintToken };

const backend = () => mintToken("e2e-backend");

let unique = 0;
export const uniqueName = (name: string) => `${name}-${process.pid}-${Date.now().toString(36)}-${++unique}`;

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export async function rest(stack: StackUrls, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.restUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${backend()}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** POST /publish: one event to a group (its default group unless given). */
export async function publish(stack: StackUrls, type: string, data: Record<string, unknown>, group?: string): Promise<any> {
  const groups: Record<string, string> = {
    PlatformStatus: "admins",
    SystemEvent: "admins",
    TestMessage: "admins",
    AnalyticsUpdate: "analytics",
    UserCountUpdate: "analytics",
    GenerationMetrics: "analytics",
    RevenueUpdate: "analytics",
    UserAction: "user-activity",
    RoleAssignment: "user-activity",
    Alert: "alerts",
    PerformanceAlert: "alerts",
  };
  const answer = await rest(stack, "POST", "/publish", { group: group ?? groups[type], type, data });
  if (answer.status !== 200 && answer.status !== 202) throw new Error(`publish ${type}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** The ids of a user's connections, oldest first (the `Connection Opened` lifecycle events). */
export async function connectionIdsOf(stack: StackUrls, userId: string): Promise<string[]> {
  const response = await fetch(`${stack.baseUrl}/_local/events?detailType=${encodeURIComponent("Connection Opened")}`, {
    headers: { Authorization: `Bearer ${backend()}` },
  });
  const events = (await response.json()) as { event: { detail: { connectionId: string; userId: string } } }[];
  return events.filter(({ event }) => event.detail.userId === userId).map(({ event }) => event.detail.connectionId);
}

/** SigV4-signed call on the local Management API (@connections), as API Gateway requires. */
export async function managementApi(stack: StackUrls, method: "POST" | "DELETE", connectionId: string, body?: string): Promise<number> {
  const url = new URL(stack.baseUrl);
  const request = aws4.sign(
    {
      host: url.host,
      path: `/@connections/${encodeURIComponent(connectionId)}`,
      method,
      service: "execute-api",
      region: "us-east-1",
      ...(body !== undefined ? { body, headers: { "Content-Type": "application/json" } } : {}),
    },
    { accessKeyId: "local", secretAccessKey: "local" },
  );
  const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([key, value]) => [key, String(value)]));
  const response = await fetch(`${stack.baseUrl}${request.path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  await response.arrayBuffer();
  return response.status;
}

export interface Opened {
  context: BrowserContext;
  page: Page;
  user: string;
  token: string;
  /** Every console error and CSP violation of the page. */
  problems: string[];
}

/** A new context (fresh storage) and the dashboard signed in as `user`, connected. */
export async function openDashboard(browser: Browser, stack: StackUrls, options: { user?: string; token?: string; context?: BrowserContextOptions; wait?: boolean } = {}): Promise<Opened> {
  const user = options.user ?? uniqueName("operator");
  const token = options.token ?? mintToken(user);
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: "en-US", timezoneId: "UTC", ...options.context });
  // Every data-state the connection panel goes through, as it happens (a reconnect can be quicker than any poll).
  await context.addInitScript(() => {
    const record = window as unknown as { __states: string[]; __violations: string[] };
    record.__states = [];
    record.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) => record.__violations.push(`${event.violatedDirective} ${event.blockedURI}`));
    new MutationObserver(() => {
      const state = document.querySelector('[data-testid="connection-status"]')?.getAttribute("data-state");
      if (state && record.__states.at(-1) !== state) record.__states.push(state);
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"], childList: true });
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  await page.goto(`${stack.dashboardUrl}#token=${token}`);
  // Connected, and every widget drawn from the snapshot.
  if (options.wait !== false) await page.locator('[data-testid="connection-status"][data-state="connected"]:not([data-snapshot-at=""])').waitFor({ timeout: 30_000 });
  return { context, page, user, token, problems };
}

export async function statesOf(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __states: string[] }).__states);
}

export async function violationsOf(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  // Off-screen list items skip rendering (content-visibility: auto), and a full-page
  // screenshot does not scroll: for the shot, the viewport is made as tall as the page.
  const viewport = page.viewportSize();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  if (viewport && height > viewport.height) await page.setViewportSize({ width: viewport.width, height });
  try {
    await page.screenshot({ path, fullPage: true });
  } finally {
    if (viewport && height > viewport.height) await page.setViewportSize(viewport);
  }
  return path;
}

export async function waitFor(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
