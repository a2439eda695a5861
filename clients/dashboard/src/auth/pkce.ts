/** PKCE (RFC 7636) with S256, and the random values of the authorization-code flow, on the
 * browser's Web Crypto. */

export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** `bytes` random bytes, base64url: 32 bytes → 43 characters, within the verifier's 43–128. */
export function randomToken(bytes = 32, crypto: Crypto = globalThis.crypto): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** BASE64URL(SHA256(ASCII(verifier))). */
export async function s256Challenge(verifier: string, crypto: Crypto = globalThis.crypto): Promise<string> {
  if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) throw new Error("a PKCE verifier is 43-128 unreserved characters");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export interface Pkce {
  verifier: string;
  challenge: string;
  method: "S256";
}

export async function createPkce(crypto: Crypto = globalThis.crypto): Promise<Pkce> {
  const verifier = randomToken(32, crypto);
  return { verifier, challenge: await s256Challenge(verifier, crypto), method: "S256" };
}
