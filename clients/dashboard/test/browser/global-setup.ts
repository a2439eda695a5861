/** One local stack for the browser tests (`python -m local --port 0`, on a free port), serving
 * the built dashboard (clients/dashboard/dist) at `/` as `make dev` does. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
// The SDK's end-to-end tests start the stack the same way: one starter for both.
import { startStack } from "../../../sdk/test/e2e/stack";
import { REPO, type StackUrls } from "./support";

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackUrls;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!existsSync(join(REPO, "clients/dashboard/dist/index.html"))) {
    throw new Error("clients/dashboard/dist is not built: run `make dashboard` (make dashboard-e2e does it)");
  }
  const { stop, ...urls } = await startStack();
  project.provide("stack", urls);
  return stop;
}
