/** The same guarantee with the fault injection's vanishing sockets: a share of @connections
 * POSTs answered 410, their socket dropped without $disconnect (LOCAL_FAULT_GONE_RATE). */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Stack, publish, recordingClient, startStack, uniqueUser, waitFor } from "./stack.js";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ LOCAL_FAULT_GONE_RATE: "0.08", LOCAL_FAULT_SEED: "20261201" });
});
afterAll(async () => {
  await stack?.stop();
});

it("two clients, 20 messages, sockets vanishing under them: every seq exactly once, in order", async () => {
  const clients = [recordingClient(stack, uniqueUser("a")), recordingClient(stack, uniqueUser("b"))];
  const starts: number[] = [];
  await Promise.all(
    clients.map(async (recording, index) => {
      const sub = recording.client.subscribe("analytics", (event) => recording.received.push(event));
      const subscribed = new Promise<void>((done) => sub.on("subscribed", (context) => ((starts[index] ??= context.seq), done())));
      await recording.client.connect();
      await subscribed;
    }),
  );
  const base = Math.max(...starts);
  for (let index = 1; index <= 20; index++) await publish(stack, "analytics", index);
  try {
    for (const [index, recording] of clients.entries()) {
      await waitFor(() => recording.received.some((event) => event.seq >= base + 20), `client ${index} to catch up`, 45_000);
    }
    for (const [index, recording] of clients.entries()) {
      const seqs = recording.received.map((event) => event.seq);
      const start = starts[index]!;
      expect(seqs.filter((seq) => seq > start && seq <= base + 20)).toEqual(Array.from({ length: base + 20 - start }, (_, i) => start + i + 1));
      expect(new Set(seqs).size).toBe(seqs.length);
    }
    // The seed makes sockets vanish: at least one client had to reconnect and resume.
    expect(clients.some(({ states }) => states.includes("reconnecting"))).toBe(true);
    for (const { states } of clients) expect(states.filter((state) => state !== "reconnecting" && state !== "connected")).toEqual(["connecting"]);
  } finally {
    for (const { client } of clients) client.close();
  }
});
