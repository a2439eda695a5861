import { describe, expect, it } from "vitest";
import { base64url, createPkce, randomToken, s256Challenge } from "../../src/auth/pkce";

describe("PKCE (RFC 7636)", () => {
  it("derives the S256 challenge of the RFC's example verifier", async () => {
    // RFC 7636, appendix B
    expect(await s256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("makes 43-character base64url verifiers, a new one every time", async () => {
    const first = await createPkce();
    const second = await createPkce();
    expect(first.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.verifier).not.toBe(second.verifier);
    expect(first.method).toBe("S256");
    expect(first.challenge).toBe(await s256Challenge(first.verifier));
  });

  it("refuses verifiers outside 43–128 unreserved characters", async () => {
    await expect(s256Challenge("short")).rejects.toThrow();
    await expect(s256Challenge("x".repeat(129))).rejects.toThrow();
    await expect(s256Challenge(`${"x".repeat(42)}+`)).rejects.toThrow();
  });

  it("encodes base64url without padding", () => {
    expect(base64url(new Uint8Array([251, 255, 191]))).toBe("-_-_");
    expect(base64url(new Uint8Array([1]))).toBe("AQ");
    expect(randomToken(16)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
