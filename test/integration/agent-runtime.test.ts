import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, SignJWT, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, LocalAgentAuth } from '../../local/agent-auth';
import { routes } from '../../shared/http/routes';
import { startTestRuntime } from '../support/runtime';
import { WebUser } from '../support/web-user';

/**
 * The agent API as the local runtime serves it: tokens from POST /local/agent-token, the
 * JWT checks API Gateway's authorizer makes (before the function runs), the takeover race
 * over real HTTP, and the two pages.
 */
let runtime: Awaited<ReturnType<typeof startTestRuntime>>;
let app: string;

beforeAll(async () => {
  runtime = await startTestRuntime();
  app = runtime.urls.app;
});
afterAll(async () => {
  await runtime?.stop();
});

const post = (path: string, body?: unknown, token?: string) =>
  fetch(`${app}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const get = (path: string, token?: string) => fetch(`${app}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

async function agentToken(agentId: string, name: string): Promise<string> {
  const res = await post('/local/agent-token', { agentId, name });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { token: string; expiresAt: string };
  expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now());
  return body.token;
}

/** Signs claims with the runtime's own key (from DATA_DIR), so only the claim under test is wrong. */
async function signWithLocalKey(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const key = JSON.parse(readFileSync(join(runtime.dataDir, 'agent-jwt-key.json'), 'utf8')) as { kid: string; privateJwk: JWK };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, ...header })
    .sign(await importJWK(key.privateJwk, 'RS256'));
}

const now = () => Math.floor(Date.now() / 1000);
const goodClaims = () => ({ sub: 'eve', name: 'Eve', iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, iat: now(), exp: now() + 600 });

describe('local agent tokens and the JWT authorizer', () => {
  it('mints a token the agent API accepts, carrying iss, aud, exp, sub and name', async () => {
    const token = await agentToken('ann', 'Ann Example');
    const [, payload] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({ iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, sub: 'ann', name: 'Ann Example' });
    expect(claims.exp - claims.iat).toBe(12 * 3600);
    expect((await get('/agent/conversations', token)).status).toBe(200);
    expect((await signWithLocalKey(goodClaims())).length).toBeGreaterThan(0);
    expect((await get('/agent/conversations', await signWithLocalKey(goodClaims()))).status).toBe(200);
  });

  it('refuses to mint for a malformed request', async () => {
    for (const body of [{}, { agentId: 'a b', name: 'A' }, { agentId: 'a', name: '  ' }, { agentId: 'a', name: 'A', admin: true }]) {
      const res = await post('/local/agent-token', body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
  });

  it('answers 401 before the function runs for missing, tampered, expired or foreign tokens', async () => {
    const good = await agentToken('ann', 'Ann');
    const [h, p, sig] = good.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'mallory' })).toString('base64url');
    const otherKey = await generateKeyPair('RS256');
    const auth = await LocalAgentAuth.load(runtime.dataDir);
    const bad: Record<string, string | undefined> = {
      missing: undefined,
      'not a JWT': 'not-a-jwt',
      'tampered payload': `${h}.${forgedPayload}.${sig}`,
      'tampered signature': `${h}.${p}.${sig.slice(0, -4)}AAAA`,
      expired: (await auth.mint({ agentId: 'ann', name: 'Ann' }, { ttlSeconds: -60 })).token,
      'wrong issuer': await signWithLocalKey({ ...goodClaims(), iss: 'https://cognito-idp.example.com/other' }),
      'wrong audience': await signWithLocalKey({ ...goodClaims(), aud: 'someone-else' }),
      'no expiry': await signWithLocalKey({ ...goodClaims(), exp: undefined }),
      'not yet valid': await signWithLocalKey({ ...goodClaims(), nbf: now() + 600 }),
      'signed by another key': await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'RS256', kid: 'other' }).sign(otherKey.privateKey),
      'alg none': `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(goodClaims())).toString('base64url')}.`,
    };
    for (const [what, token] of Object.entries(bad)) {
      const res = await get('/agent/conversations', token);
      expect(res.status, what).toBe(401);
      expect(await res.json(), what).toEqual({ message: 'Unauthorized' });
    }
    // Every agent route sits behind the authorizer.
    const user = await WebUser.start(app, 'demo');
    for (const route of routes.filter((r) => r.auth === 'jwt')) {
      const path = route.path.replace('{sessionId}', user.sessionId);
      const res = route.method === 'GET' ? await get(path, bad['tampered signature']) : await post(path, {}, bad['tampered signature']);
      expect(res.status, `${route.method} ${route.path}`).toBe(401);
    }
    const session = await runtime.deps.sessions.get(user.sessionId);
    expect(session?.operator).toBeUndefined();
  });

  it('keeps its key in DATA_DIR, so tokens survive a restart', async () => {
    const before = await LocalAgentAuth.load(runtime.dataDir);
    const after = await LocalAgentAuth.load(runtime.dataDir);
    const { token } = await before.mint({ agentId: 'kim', name: 'Kim' });
    expect(await after.verify(token)).toMatchObject({ sub: 'kim', name: 'Kim', iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE });
    expect((await get('/agent/conversations', token)).status).toBe(200);
  });
});

describe('takeover over HTTP', () => {
  it('ten agents take over at once: exactly one wins, the others get 409 already_taken_over', async () => {
    const user = await WebUser.start(app, 'demo', 'Racer');
    await user.waitFor((ms) => ms.length > 0, 'the welcome message');
    const agents = await Promise.all(Array.from({ length: 10 }, (_, i) => agentToken(`agent-${i}`, `Agent ${i}`)));
    const results = await Promise.all(
      agents.map(async (token, i) => {
        const res = await post(`/agent/conversations/${user.sessionId}/takeover`, undefined, token);
        return { i, status: res.status, body: (await res.json()) as { error?: { code: string } } };
      }),
    );
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    const losers = results.filter((r) => r.status !== 200);
    expect(losers.map((r) => [r.status, r.body.error?.code])).toEqual(Array.from({ length: 9 }, () => [409, 'already_taken_over']));
    const winner = `Agent ${winners[0]!.i}`;
    expect((await runtime.deps.sessions.get(user.sessionId))?.operator?.name).toBe(winner);
    const starts = (await user.messages()).filter((m) => m.text?.startsWith('You are now chatting with'));
    expect(starts.map((m) => [m.from, m.text])).toEqual([['bot', `You are now chatting with ${winner}.`]]);
  });
});

describe('pages', () => {
  const inlineBlocks = (html: string, tag: 'script' | 'style') =>
    [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);

  it.each([
    ['/', 'Satchel chat', { defaultBot: 'demo' }, ['common.js', 'embed.js', 'chat.js']],
    ['/agent', 'Satchel · Live Takeover', { signIn: 'local' }, ['common.js', 'agent-auth.js', 'agent.js']],
  ])('serves %s as one self-contained page whose CSP allows exactly its own inline code', async (path, title, config, scriptFiles) => {
    const res = await fetch(`${app}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expect(html).toContain(`<title>${title}</title>`);
    expect(html).not.toMatch(/<script src=|<link rel="stylesheet"/);
    const csp = res.headers.get('content-security-policy')!;
    const scripts = inlineBlocks(html, 'script');
    const styles = inlineBlocks(html, 'style');
    expect(scripts).toHaveLength(scriptFiles.length);
    expect(styles).toHaveLength(1);
    expect(csp).toContain(`script-src ${scripts.join(' ')};`);
    expect(csp).toContain(`style-src ${styles.join(' ')};`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`connect-src 'self' https://*.amazonaws.com ${runtime.urls.s3}`);
    const pageConfig = JSON.parse(html.match(/<script type="application\/json" id="page-config">(.*?)<\/script>/)![1]!);
    expect(pageConfig).toMatchObject(config);
  });
});
