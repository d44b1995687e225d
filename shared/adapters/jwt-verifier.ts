import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';

export type AuthorizerClaims = Record<string, string>;

export interface JwtVerifierOptions {
  issuer: string;
  audience: string;
  /** Public keys, as an issuer's JWKS document lists them. */
  jwks: JSONWebKeySet;
  /** Clock for expiry checks (epoch ms). */
  now?: () => number;
}

/**
 * Checks a bearer JWT the way API Gateway's JWT authorizer does: RS256 signature by a key
 * of the issuer's JWKS (matched by `kid`), `iss`, `aud`, `exp` required and in the future,
 * `nbf` if present. Claims come back as strings, as the authorizer hands them to the
 * function (arrays as `[a b]`). Anything wrong yields undefined, never a reason: the
 * caller answers 401 either way.
 */
export function createJwtVerifier(opts: JwtVerifierOptions): (token: string | undefined) => Promise<AuthorizerClaims | undefined> {
  const keys = createLocalJWKSet(opts.jwks);
  const now = opts.now ?? Date.now;
  return async function verifyJwt(token) {
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: opts.issuer,
        audience: opts.audience,
        algorithms: ['RS256'],
        requiredClaims: ['exp'],
        currentDate: new Date(now()),
      });
      return Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, asClaimString(v)]));
    } catch {
      return undefined;
    }
  };
}

const asClaimString = (v: unknown): string =>
  Array.isArray(v) ? `[${v.map(String).join(' ')}]` : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
