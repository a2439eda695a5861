/** Reads a JWT's claims without verifying it (the hub verifies; the page only needs `exp`,
 * `sub` and `nonce` to plan refreshes and show who is signed in). */
export interface Claims {
  sub?: string;
  exp?: number;
  iat?: number;
  nonce?: string;
  [claim: string]: unknown;
}

export function readClaims(token: string): Claims | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims === "object" && claims !== null && !Array.isArray(claims) ? (claims as Claims) : undefined;
  } catch {
    return undefined;
  }
}

/** The token's expiry in ms since the epoch, if it says. */
export function expiresAt(token: string): number | undefined {
  const exp = readClaims(token)?.exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
}

/** Three base64url parts: the shape of a JWT (checked before storing a pasted token). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
