import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../shared/http/routes';
import { startTestRuntime } from '../support/runtime';

/**
 * Issue 12 point 5: malformed percent-encoding, over-long and impossible ids get a 4xx from
 * every route of the table (400 or 404; a file link that is not one of ours keeps its 403),
 * through the local HTTP server, and never reach storage as a key.
 */
let runtime: Awaited<ReturnType<typeof startTestRuntime>>;
let agentToken: string;
let userToken: string;

beforeAll(async () => {
  runtime = await startTestRuntime();
  const minted = await fetch(`${runtime.urls.app}/local/agent-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agentId: 'ann', name: 'Ann' }) });
  agentToken = ((await minted.json()) as { token: string }).token;
  const session = await fetch(`${runtime.urls.app}/web/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ botId: 'demo' }) });
  userToken = ((await session.json()) as { token: string }).token;
});

afterAll(async () => {
  await runtime?.stop();
});

const BAD_IDS: [string, string][] = [
  ['malformed percent-encoding', '%E0%A4%A'],
  ['a lone percent sign', '%'],
  ['an over-long id', 'a'.repeat(2100)],
  ['an over-long encoded id', '%C3%A9'.repeat(700)],
  ['an impossible id', 'nope'],
  ['a prototype name', '__proto__'],
  ['a UUID-like id with a key separator', '00000000-0000-0000-0000-000000000000#META'],
];

const cases = routes
  .filter((r) => r.path.includes('{'))
  .flatMap((r) => BAD_IDS.map(([what, id]) => [`${r.method} ${r.path}`, what, r.method, r.path.replace(/\{[^}]+\}/, id), r.auth] as const));

describe('bad paths and ids', () => {
  it.each(cases)('%s with %s is a 4xx', async (_route, _what, method, path, auth) => {
    const token = auth === 'jwt' ? agentToken : userToken;
    const res = await fetch(`${runtime.urls.app}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      ...(method === 'POST' && { body: JSON.stringify({ text: 'hi', fileName: 'a.pdf', size: 10, contentType: 'application/pdf' }) }),
    });
    const body = (await res.json()) as { error?: { code: string } };
    if (path.startsWith('/files/')) expect([400, 403]).toContain(res.status);
    else expect([400, 404]).toContain(res.status);
    expect(body.error?.code).toMatch(/^(invalid_request|not_found|bot_not_found|conversation_not_found|invalid_token)$/);
  });

  it('answers the named examples exactly', async () => {
    const get = (path: string) => fetch(`${runtime.urls.app}${path}`, { headers: { authorization: `Bearer ${userToken}` } });
    for (const path of ['/web/sessions/%E0%A4%A/messages', '/files/%']) {
      const res = await get(path);
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([400, 'invalid_request']);
    }
    const agent = await fetch(`${runtime.urls.app}/agent/conversations/${'a'.repeat(2100)}`, { headers: { authorization: `Bearer ${agentToken}` } });
    expect([agent.status, ((await agent.json()) as { error: { code: string } }).error.code]).toEqual([404, 'conversation_not_found']);
  });

  it('answers request targets that are not paths with 400, and keeps serving (HTTP server and demo documents)', async () => {
    const raw = (port: number, target: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(`GET ${target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`));
        let data = '';
        socket.on('data', (d) => (data += d));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
    const app = Number(new URL(runtime.urls.app).port);
    const docs = Number(new URL(runtime.urls.demoDocs!).port);
    for (const target of ['//', '*', '//%zz']) {
      expect(await raw(app, target)).toMatch(/^HTTP\/1\.1 4\d\d /);
      expect(await raw(docs, target)).toMatch(/^HTTP\/1\.1 4\d\d /);
    }
    expect((await fetch(`${runtime.urls.app}/web/bots/demo/config`)).status).toBe(200);
  });
});
