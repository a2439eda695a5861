import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script, no declarations
import { OUTPUT, generate } from "../../scripts/generate-types.mjs";

describe("generated protocol types", () => {
  it("match the server's pydantic models (run `npm run generate -w @realtime-hub/client` when they change)", async () => {
    const fresh = (await generate()) as string;
    expect(readFileSync(OUTPUT as string, "utf8")).toBe(fresh);
  }, 60_000);
});
