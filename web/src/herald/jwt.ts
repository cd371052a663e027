/** TokenClaims are the claims the client reads from an access token, unverified. */
export interface TokenClaims {
  /** sub is the user id, "" if absent. */
  sub: string;
  /** exp is the expiry in ms since the epoch, or null when the token is not a JWT with a numeric exp. */
  exp: number | null;
}

/**
 * peekToken reads the sub and exp claims of a JWT without verifying it (the
 * server verifies). A token that is not a JWT gives {sub: "", exp: null}.
 */
export function peekToken(token: string): TokenClaims {
  const parts = token.split(".");
  if (parts.length !== 3) return { sub: "", exp: null };
  try {
    const b64 = parts[1]!.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { sub?: unknown; exp?: unknown };
    const sub = typeof claims.sub === "string" ? claims.sub : "";
    const exp = typeof claims.exp === "number" && claims.exp > 0 && claims.exp < 1e11 ? claims.exp * 1000 : null;
    return { sub, exp };
  } catch {
    return { sub: "", exp: null };
  }
}
