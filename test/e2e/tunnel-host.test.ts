import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime } from '../support/runtime';

/**
 * `PUBLIC_BASE_URL` on a tunnel's host (docs/telegram.md, docs/twilio.md): the tunnel forwards
 * its own Host header, so requests naming it must reach the channel webhooks and file links —
 * and nothing else (pages, the web and agent APIs and the local-only routes stay loopback-only,
 * which is what keeps DNS rebinding out).
 */
let rt: Awaited<ReturnType<typeof startTestRuntime>>;

beforeAll(async () => {
  rt = await startTestRuntime({ publicBaseUrl: 'https://tunnel.example' });
});
afterAll(async () => {
  await rt?.stop();
});

function send(path: string, host: string, method = 'POST'): Promise<{ status?: number; code?: string }> {
  return new Promise((done, fail) => {
    const req = request(`${rt.urls.app}${path}`, { method, headers: { host, 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        done({ status: res.statusCode, code });
      });
    });
    req.on('error', fail);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

describe('a tunnel in front of the local runtime', () => {
  it('reaches the channel webhooks and file links with the tunnel host, checked by their own rules', async () => {
    const telegram = await send('/channels/telegram/demo', 'tunnel.example');
    expect(telegram.code).not.toBe('forbidden_host');
    expect(telegram.status).toBe(401); // no secret token: the webhook's own check refuses it
    const file = await send('/files/not-a-token', 'tunnel.example', 'GET');
    expect(file.code).not.toBe('forbidden_host');
    expect(file.status).toBeGreaterThanOrEqual(400);
    expect(file.status).toBeLessThan(500);
  });

  it('refuses everything else with the tunnel host, and every path with another host', async () => {
    for (const path of ['/local/agent-token', '/local/cognito', '/web/sessions', '/agent/conversations']) {
      expect(await send(path, 'tunnel.example'), path).toEqual({ status: 403, code: 'forbidden_host' });
    }
    expect(await send('/', 'tunnel.example', 'GET')).toEqual({ status: 403, code: 'forbidden_host' });
    expect(await send('/channels/telegram/demo', 'attacker.example')).toEqual({ status: 403, code: 'forbidden_host' });
  });
});
