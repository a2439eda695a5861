/** One local stack for the browser tests (`python -m local --port 0`, on a free port), serving
 * the built dashboard (clients/dashboard/dist) at `/` as `make dev` does. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
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
  const python = process.env.REALTIME_PYTHON ?? join(REPO, ".venv/bin/python");
  if (!existsSync(python)) throw new Error(`no Python at ${python}: run \`make install\``);
  const dir = mkdtempSync(join(tmpdir(), "dashboard-stack-"));
  const readyFile = join(dir, "ready.json");
  const child: ChildProcess = spawn(python, ["-m", "local", "--port", "0", "--quiet", "--ready-file", readyFile], {
    cwd: REPO,
    env: { ...process.env, PYTHONPATH: `${join(REPO, "layers/realtime/python")}:${REPO}` },
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
    await new Promise((done) => setTimeout(done, 100));
  }
  project.provide("stack", JSON.parse(readFileSync(readyFile, "utf8")) as StackUrls);
  return async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
