import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';
import * as z from 'zod/mini';
import { createJwtVerifier, type AuthorizerClaims } from '../shared/adapters/jwt-verifier';
import { httpHandler, json, parseJsonBody, type HttpEvent } from '../shared/http/http-handler';
import type { LambdaHttpHandler } from './http-server';
import '../shared/zod-english';

/** What local agent tokens say they are; the local authorizer accepts nothing else. */
export const LOCAL_ISSUER = 'urn:satchel:local';
export const LOCAL_AUDIENCE = 'satchel-agent-console';
/** A working day, so the console does not sign out mid-shift. */
const TOKEN_SECONDS = 12 * 3600;
const KEY_FILE = 'agent-jwt-key.json';

interface KeyFile {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/**
 * Stands in for Cognito locally: an RS256 key pair generated once and kept in DATA_DIR (so
 * tokens survive restarts), tokens minted by `POST /local/agent-token`, and the check API
 * Gateway's JWT authorizer makes (signature, issuer, audience, expiry).
 */
export class LocalAgentAuth {
  readonly verify: (token: string | undefined) => Promise<AuthorizerClaims | undefined>;

  private constructor(
    private readonly key: KeyFile,
    private readonly signingKey: CryptoKey | Uint8Array,
  ) {
    this.verify = createJwtVerifier({ issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, jwks: this.jwks });
  }

  static async load(dataDir: string): Promise<LocalAgentAuth> {
    const file = join(dataDir, KEY_FILE);
    let key: KeyFile;
    if (existsSync(file)) {
      key = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
    } else {
      const pair = await generateKeyPair('RS256', { extractable: true });
      const kid = randomUUID();
      key = { kid, privateJwk: await exportJWK(pair.privateKey), publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' } };
      writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
    }
    return new LocalAgentAuth(key, await importJWK(key.privateJwk, 'RS256'));
  }

  /** The issuer's public keys, as Cognito publishes them at /.well-known/jwks.json. */
  get jwks(): JSONWebKeySet {
    return { keys: [this.key.publicJwk] };
  }

  /** A signed agent token. `ttlSeconds` may be negative (tests of expired tokens). */
  async mint(agent: { agentId: string; name: string }, opts: { ttlSeconds?: number; now?: number } = {}): Promise<{ token: string; expiresAt: number }> {
    return this.sign({ name: agent.name, token_use: 'id', sub: agent.agentId, aud: LOCAL_AUDIENCE }, opts);
  }

  /**
   * Any token of this issuer (the local Cognito stand-in's ID and access tokens): `claims`
   * plus `iss`, `iat` and `exp`. Only tokens with `aud` = LOCAL_AUDIENCE pass `verify`.
   */
  async sign(claims: JWTPayload, opts: { ttlSeconds?: number; now?: number } = {}): Promise<{ token: string; expiresAt: number }> {
    const iat = Math.floor((opts.now ?? Date.now()) / 1000);
    const exp = iat + (opts.ttlSeconds ?? TOKEN_SECONDS);
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: this.key.kid, typ: 'JWT' })
      .setIssuer(LOCAL_ISSUER)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.signingKey);
    return { token, expiresAt: exp };
  }
}

export const AgentTokenBody = z.strictObject({
  agentId: z.string().check(z.regex(/^[A-Za-z0-9._@+-]{1,100}$/, 'agentId is 1-100 letters, digits and ._@+-')),
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(100)),
});

/**
 * The agent function as the local runtime serves it: `POST /local/agent-token` (a local-only
 * route, never deployed) is answered here; every other route goes to the real handler.
 */
export function withLocalAgentToken(agentHandler: LambdaHttpHandler, auth: LocalAgentAuth): LambdaHttpHandler {
  const tokenRoute = httpHandler({
    'POST /local/agent-token': async (e) => {
      const body = parseJsonBody(e, AgentTokenBody);
      const { token, expiresAt } = await auth.mint(body);
      return json(200, { token, expiresAt: new Date(expiresAt * 1000).toISOString() });
    },
  }) as unknown as LambdaHttpHandler;
  return (event: HttpEvent, context: Context) => (event.routeKey === 'POST /local/agent-token' ? tokenRoute(event, context) : agentHandler(event, context));
}
