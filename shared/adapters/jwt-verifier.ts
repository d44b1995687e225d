import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export type AuthorizerClaims = Record<string, string>;

export interface JwtVerifierOptions {
  issuer: string;
  audience: string;
  /** Public keys, as an issuer's JWKS document lists them. */
  jwks: JSONWebKeySet;
  /** Clock for expiry checks (epoch ms). */
  now?: () => number;
}

type Verify = (token: string | undefined) => Promise<AuthorizerClaims | undefined>;

/**
 * Checks a bearer JWT the way API Gateway's JWT authorizer does: RS256 signature by a key
 * of the issuer's JWKS (matched by `kid`), `iss`, `aud`, `exp` required and in the future,
 * `nbf` if present. Claims come back as strings, as the authorizer hands them to the
 * function (arrays as `[a b]`). Anything wrong yields undefined, never a reason: the
 * caller answers 401 either way.
 */
export function createJwtVerifier(opts: JwtVerifierOptions): Verify {
  return verifierWith(createLocalJWKSet(opts.jwks), opts);
}

/**
 * The same checks against the issuer's published keys (`{issuer}/.well-known/jwks.json`, as
 * Cognito serves them), fetched on first use and cached by jose: the WebSocket API's Lambda
 * authorizer verifies agents' tokens with it exactly as the HTTP API's JWT authorizer does.
 */
export function createIssuerJwtVerifier(opts: Omit<JwtVerifierOptions, 'jwks'>): Verify {
  const url = new URL(`${opts.issuer.replace(/\/+$/, '')}/.well-known/jwks.json`);
  // Made on the first token, not at cold start: jose's remote key set builds a fetch `Headers`
  // at once, which loads Node's fetch implementation (about 25 ms); the first token has to
  // fetch the keys with it anyway (issue 10).
  let remote: JWTVerifyGetKey | undefined;
  return verifierWith((header, token) => (remote ??= createRemoteJWKSet(url))(header, token), opts);
}

function verifierWith(keys: JWTVerifyGetKey, opts: Omit<JwtVerifierOptions, 'jwks'>): Verify {
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
