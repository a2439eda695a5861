/** The publish form's specs are checked by the compiler against the generated types: these
 * lines must NOT compile (`make dashboard-typecheck` fails if one does). */
import type { Alert, PlatformStatus, TestMessage } from "@realtime-hub/client";
import { expect, it } from "vitest";
import type { DataSpec } from "../../src/publish/schema";

// @ts-expect-error a required field described as optional
export const wrongRequired: DataSpec<TestMessage> = { message: { kind: "text", required: false, label: "m", maxLength: 8 } };
// @ts-expect-error an optional field (severity) left out
export const missingField: DataSpec<Alert> = {
  title: { kind: "text", required: true, label: "t", maxLength: 8 },
  message: { kind: "text", required: true, label: "m", maxLength: 8 },
  source: { kind: "text", required: false, label: "s", maxLength: 8 },
};
export const missingOption: DataSpec<PlatformStatus> = {
  // @ts-expect-error an enum without one of the generated union's members (down)
  status: { kind: "enum", required: true, label: "s", options: { healthy: "h", degraded: "d" } },
  message: { kind: "text", required: false, label: "m", maxLength: 8 },
  services: { kind: "map", required: false, label: "x", values: { kind: "enum", options: { healthy: "", degraded: "", down: "" } } },
};
// @ts-expect-error a text field described as a number
export const wrongKind: DataSpec<TestMessage> = { message: { kind: "number", required: true, label: "m" } };

it("is checked at compile time", () => {
  expect(wrongRequired).toBeDefined();
});
