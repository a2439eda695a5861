/** Two clients, 20 messages over REST, one client's socket closed by the server in the
 * middle while publishing goes on: each client has every seq exactly once, in order. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Stack,
  closeUserConnections,
  connectionIdsOf,
  deleteConnectionSigned,
  publish,
  recordingClient,
  startStack,
  uniqueUser,
  waitFor,
} from "./stack.js";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const GROUP = "alerts";
const MESSAGES = 20;

async function scenario(cut: (userId: string) => Promise<void>) {
  const users = [uniqueUser("cut"), uniqueUser("steady")] as const;
  const clients = users.map((user) => recordingClient(stack, user));
  const starts: number[] = [];
  await Promise.all(
    clients.map(async (recording, index) => {
      const sub = recording.client.subscribe(GROUP, (event) => recording.received.push(event));
      const subscribed = new Promise<void>((done) =>
        sub.on("subscribed", (context) => {
          starts[index] ??= context.seq;
          done();
        }),
      );
      await recording.client.connect();
      await subscribed;
    }),
  );
  const [cutClient, steadyClient] = clients;
  for (let index = 1; index <= MESSAGES; index++) {
    await publish(stack, GROUP, index);
    if (index === MESSAGES / 2) await cut(users[0]);
  }
  try {
    for (const [index, recording] of clients.entries()) {
      const last = starts[index]! + MESSAGES;
      await waitFor(() => recording.received.some((event) => event.seq >= last), `client ${index} to reach seq ${last}`);
    }
    await new Promise((done) => setTimeout(done, 300)); // anything late would be a duplicate
    for (const [index, recording] of clients.entries()) {
      const start = starts[index]!;
      const mine = recording.received.filter((event) => event.seq > start && event.seq <= start + MESSAGES);
      expect(mine.map((event) => event.seq)).toEqual(Array.from({ length: MESSAGES }, (_, i) => start + i + 1));
      expect(recording.received.map((event) => event.seq)).toEqual([...new Set(recording.received.map((event) => event.seq))]);
    }
    expect(cutClient!.states).toEqual(["connecting", "connected", "reconnecting", "connected"]);
    expect(cutClient!.tokens.length).toBeGreaterThanOrEqual(2); // getToken again for the reconnect
    expect(steadyClient!.states).toEqual(["connecting", "connected"]);
  } finally {
    for (const { client } of clients) client.close();
  }
  expect(cutClient!.states.at(-1)).toBe("disconnected");
}

describe("resume against the local stack", () => {
  it("the server deletes a connection (signed DELETE /@connections/{id}) mid-way", async () => {
    await scenario(async (userId) => {
      const [connectionId] = await connectionIdsOf(stack, userId);
      expect(connectionId).toBeDefined();
      expect(await deleteConnectionSigned(stack, connectionId!)).toBe(204);
    });
  });

  it("an administrator closes the user's connections (REST DELETE /users/{id}/connections) mid-way", async () => {
    // (`closed` may miss the connection: the socket's $disconnect can remove it first.)
    await scenario((userId) => closeUserConnections(stack, userId).then(() => undefined));
  });
});
