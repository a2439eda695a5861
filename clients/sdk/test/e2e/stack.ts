/** The real local stack (`python -m local`), started by the tests on a free port, and the
 * admin tools the tests use against it. */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import aws4 from "aws4";
import WebSocket from "ws";
import { RealtimeClient, type ConnectionState, type Envelope, type RealtimeClientOptions } from "../../src/index.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

/** The local stack's public development settings (local/runner/settings.py), read, not copied. */
function localSetting(name: string): string {
  const match = new RegExp(`^${name} = "([^"]+)"`, "m").exec(readFileSync(join(repo, "local/runner/settings.py"), "utf8"));
  if (!match?.[1]) throw new Error(`local/runner/settings.py has no ${name}`);
  return match[1];
}

export interface Stack {
  baseUrl: string;
  wsUrl: string;
  restUrl: string;
  dashboardUrl: string;
  port: number;
  stop(): Promise<void>;
}

export async function startStack(environment: Record<string, string> = {}): Promise<Stack> {
  const python = process.env.REALTIME_PYTHON ?? join(repo, ".venv/bin/python");
  if (!existsSync(python)) throw new Error(`no Python at ${python}: run \`make install\``);
  const dir = mkdtempSync(join(tmpdir(), "realtime-stack-"));
  const readyFile = join(dir, "ready.json");
  const child: ChildProcess = spawn(python, ["-m", "local", "--port", "0", "--quiet", "--ready-file", readyFile], {
    cwd: repo,
    env: { ...process.env, PYTHONPATH: `${join(repo, "layers/realtime/python")}:${repo}`, ...environment },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const deadline = Date.now() + 60_000;
  while (!existsSync(readyFile)) {
    if (child.exitCode !== null) throw new Error(`the local stack exited (${child.exitCode}):\n${stderr}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the local stack did not start in 60 s:\n${stderr}`);
    }
    await sleep(100);
  }
  const urls = JSON.parse(readFileSync(readyFile, "utf8")) as Omit<Stack, "stop">;
  return {
    ...urls,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A local development JWT (HS256 with the stack's public, local-only secret), issued
 * `issuedAgoSeconds` ago (an old token's expiry is in the past). */
export function mintToken(sub: string, roles: string[] = ["admin"], ttlSeconds = 3_600, issuedAgoSeconds = 0): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000) - issuedAgoSeconds;
  const claims = {
    sub,
    roles,
    iss: localSetting("LOCAL_ISSUER"),
    aud: localSetting("LOCAL_AUDIENCE"),
    iat: now,
    exp: now + ttlSeconds,
  };
  const unsigned = `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}`;
  const signature = createHmac("sha256", localSetting("LOCAL_DEV_SIGNING_SECRET")).update(unsigned).digest("base64url");
  return `${unsigned}.${signature}`;
}

export const adminToken = () => mintToken("e2e-admin", ["admin"]);

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

let unique = 0;
export const uniqueUser = (name: string) => `${name}-${process.pid}-${Date.now().toString(36)}-${++unique}`;

export async function publish(stack: Stack, group: string, index: number): Promise<void> {
  const response = await fetch(`${stack.restUrl}/publish`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken()}`, "Content-Type": "application/json" },
    body: JSON.stringify({ group, type: "Alert", data: { title: `m${index}`, message: `message ${index}` } }),
  });
  if (response.status !== 200 && response.status !== 202) throw new Error(`publish: ${response.status} ${await response.text()}`);
}

/** The ids of a user's connections, from the `Connection Opened` lifecycle events. */
export async function connectionIdsOf(stack: Stack, userId: string): Promise<string[]> {
  const response = await fetch(`${stack.baseUrl}/_local/events?detailType=${encodeURIComponent("Connection Opened")}`, {
    headers: { Authorization: `Bearer ${adminToken()}` },
  });
  const events = (await response.json()) as { event: { detail: { connectionId: string; userId: string } } }[];
  return events.filter(({ event }) => event.detail.userId === userId).map(({ event }) => event.detail.connectionId);
}

/** DeleteConnection on the Management API, SigV4-signed as AWS requires. */
export async function deleteConnectionSigned(stack: Stack, connectionId: string): Promise<number> {
  const url = new URL(stack.baseUrl);
  const request = aws4.sign(
    {
      host: url.host,
      path: `/@connections/${encodeURIComponent(connectionId)}`,
      method: "DELETE",
      service: "execute-api",
      region: "us-east-1",
    },
    { accessKeyId: "local", secretAccessKey: "local" },
  );
  const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([key, value]) => [key, String(value)]));
  const response = await fetch(`${stack.baseUrl}${request.path}`, { method: "DELETE", headers });
  return response.status;
}

/** The REST admin route that closes every connection of a user. */
export async function closeUserConnections(stack: Stack, userId: string): Promise<string[]> {
  const response = await fetch(`${stack.restUrl}/users/${encodeURIComponent(userId)}/connections`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${adminToken()}` },
  });
  if (response.status !== 200) throw new Error(`close user connections: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { closed: string[] }).closed;
}

/** A client of the stack that records what it sees. */
export function recordingClient(stack: Stack, userId: string, options: Partial<RealtimeClientOptions> = {}) {
  const tokens: string[] = [];
  const client = new RealtimeClient({
    url: stack.wsUrl,
    restUrl: stack.restUrl,
    WebSocket,
    getToken: () => {
      const token = mintToken(userId);
      tokens.push(token);
      return token;
    },
    ...options,
  });
  const states: ConnectionState[] = [];
  const received: Envelope[] = [];
  client.on("state", (state) => states.push(state));
  return { client, states, received, tokens };
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
