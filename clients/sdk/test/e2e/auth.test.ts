/** Tokens against the real stack: refused handshakes end connect(), and a token that
 * expires is refreshed on the open connection (no grace here: expiry bites at once). */
import WebSocket from "ws";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RealtimeClient } from "../../src/index.js";
import { type Stack, mintToken, recordingClient, sleep, startStack, uniqueUser } from "./stack.js";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ TOKEN_EXPIRY_GRACE_SECONDS: "0" });
});
afterAll(async () => {
  await stack?.stop();
});

it("an invalid token: connect() rejects with Unauthorized (checked over GET /me)", async () => {
  const client = new RealtimeClient({ url: stack.wsUrl, restUrl: stack.restUrl, WebSocket, getToken: () => "not-a-jwt" });
  await expect(client.connect()).rejects.toMatchObject({ code: "Unauthorized" });
  expect(client.state).toBe("disconnected");
  expect(client.disconnectReason?.code).toBe("Unauthorized");
});

it("an expired token without restUrl: rejected after two 401 handshakes", async () => {
  const client = new RealtimeClient({
    url: stack.wsUrl,
    WebSocket,
    getToken: () => mintToken(uniqueUser("late"), ["admin"], -60),
    backoff: { initialDelayMs: 50 },
  });
  await expect(client.connect()).rejects.toMatchObject({ code: "Unauthorized" });
});

it("a token without the connect role: connect() rejects with Forbidden", async () => {
  const client = new RealtimeClient({
    url: stack.wsUrl,
    restUrl: stack.restUrl,
    WebSocket,
    getToken: () => mintToken(uniqueUser("viewer"), []),
  });
  await expect(client.connect()).rejects.toMatchObject({ code: "Forbidden" });
});

it("a token expiring soon is refreshed on the open connection, without a reconnect", async () => {
  const user = uniqueUser("refresh");
  let ttl = 4;
  const recording = recordingClient(stack, user, {
    getToken: () => {
      const token = mintToken(user, ["admin"], ttl);
      ttl = 3_600;
      recording.tokens.push(token);
      return token;
    },
  });
  const { client, states, tokens } = recording;
  await client.connect();
  await sleep(6_000); // past the first token's expiry (refreshed at half its lifetime)
  expect(tokens.length).toBe(2);
  const stats = await client.getConnectionCount(); // would be refused, and the socket closed, had it expired
  expect(stats.connections).toBeGreaterThanOrEqual(1);
  expect(states).toEqual(["connecting", "connected"]);
  client.close();
});
