import { buffer } from 'node:stream/consumers';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FetchFailure, safeFetch, type SafeFetchOptions } from '../../shared/adapters/safe-fetch';
import { startFixtureServer, streamBytes, type FixtureServer } from '../support/fixture-server';

/**
 * The fetcher against real loopback servers. Loopback is refused unless allowlisted, so
 * each test allowlists exactly the servers it means to reach and nothing else.
 */

const redirect = (res: ServerResponse, location: string, status = 302) => {
  res.writeHead(status, { location });
  res.end();
};

const failureOf = async (promise: Promise<unknown>): Promise<FetchFailure> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FetchFailure);
  return err as FetchFailure;
};

let origin: FixtureServer;
let other: FixtureServer;
let stall: FixtureServer;

beforeAll(async () => {
  // `other` is a second host: a different port is a different origin.
  other = await startFixtureServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`other:${req.url}`);
  });
  stall = await startFixtureServer((req, res) => {
    if (req.url === '/headers') return; // never answers
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(1024)); // then nothing more
  });
  origin = await startFixtureServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const to = url.searchParams.get('to');
    switch (url.pathname) {
      case '/hello':
        res.writeHead(200, { 'content-type': 'text/plain', 'x-reply': 'yes' });
        return void res.end('hello');
      case '/redirect':
        return redirect(res, to!, Number(url.searchParams.get('status') ?? 302));
      case '/chain': {
        // /chain?n=3 redirects n times on the same origin, then answers.
        const n = Number(url.searchParams.get('n'));
        if (n > 0) return redirect(res, `/chain?n=${n - 1}`);
        res.writeHead(200);
        return void res.end('end of chain');
      }
      case '/big':
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return streamBytes(res, Number(url.searchParams.get('bytes')));
      case '/big-declared':
        res.writeHead(200, { 'content-length': String(url.searchParams.get('bytes')) });
        return streamBytes(res, Number(url.searchParams.get('bytes')));
      case '/truncated':
        // Promises 1000 bytes, sends 10, hangs up.
        res.writeHead(200, { 'content-length': '1000' });
        res.write('0123456789');
        return void setTimeout(() => req.socket.destroy(), 20);
      case '/missing':
        res.writeHead(404);
        return void res.end('nope');
      default:
        res.writeHead(500);
        res.end();
    }
  });
});

afterAll(async () => {
  await Promise.all([origin?.close(), other?.close(), stall?.close()]);
});

const allow = (...servers: FixtureServer[]): SafeFetchOptions => ({ allowHosts: new Set(servers.map((s) => s.hostPort)) });

describe('safeFetch against local servers', () => {
  it('sends the headers, and returns status, headers and the streamed body', async () => {
    const before = origin.received.length;
    const res = await safeFetch(`${origin.url}/hello`, { ...allow(origin), headers: { Authorization: 'Bearer t0ken', 'X-Tenant': 'acme' } });
    expect(res.status).toBe(200);
    expect(res.headers['x-reply']).toBe('yes');
    expect((await buffer(res.body)).toString()).toBe('hello');
    expect(res.bytesRead()).toBe(5);
    const got = origin.received[before]!;
    expect(got.method).toBe('GET');
    expect(got.headers.authorization).toBe('Bearer t0ken');
    expect(got.headers['x-tenant']).toBe('acme');
  });

  it('hands back non-2xx responses for the caller to judge', async () => {
    const res = await safeFetch(`${origin.url}/missing`, allow(origin));
    expect(res.status).toBe(404);
    res.discard();
  });

  it('refuses loopback that is not allowlisted, before any request is made', async () => {
    const before = origin.received.length;
    const err = await failureOf(safeFetch(`${origin.url}/hello`));
    expect(err.reason).toBe('address_refused');
    expect(err.host).toBe(origin.hostPort);
    expect(origin.received.length).toBe(before);
  });

  it('refuses the IPv4-mapped, decimal and octal spellings of an allowlisted loopback server that are not themselves allowlisted', async () => {
    const before = origin.received.length;
    for (const host of [`[::ffff:127.0.0.1]`, '2130706433', '0177.0.0.1', '0x7f.1']) {
      // WHATWG URL turns the numeric forms into 127.0.0.1, which is allowlisted here only
      // under its own port: use the other port so the refusal is about the address.
      const err = await failureOf(safeFetch(`http://${host}:${other.port}/hello`, allow(origin)));
      expect(err.reason).toBe('address_refused');
    }
    expect(origin.received.length).toBe(before);
  });

  it('refuses a host name that resolves to loopback (localhost), checked in the connection lookup', async () => {
    // 127.0.0.1:<port> is allowlisted, localhost:<port> is not: the resolved address decides.
    const err = await failureOf(safeFetch(`http://localhost:${origin.port}/hello`, allow(origin)));
    expect(err.reason).toBe('address_refused');
  });

  it('allowlists by host:port, so localhost works once it is listed', async () => {
    const res = await safeFetch(`http://localhost:${origin.port}/hello`, { allowHosts: new Set([`localhost:${origin.port}`]) });
    expect((await buffer(res.body)).toString()).toBe('hello');
  });

  it.each([
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['a loopback port that is not allowlisted', 'OTHER'],
    ['an IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]:1/'],
    ['a decimal loopback', 'http://2130706433:1/'],
  ])('refuses a redirect from an allowlisted host into %s', async (_what, to) => {
    const target = to === 'OTHER' ? `${other.url}/secret` : to;
    const before = other.received.length;
    const err = await failureOf(safeFetch(`${origin.url}/redirect?to=${encodeURIComponent(target)}`, allow(origin)));
    expect(err.reason).toBe('address_refused');
    expect(other.received.length).toBe(before);
  });

  it('refuses a redirect to a name that now resolves to loopback (DNS rebinding), checked on the new connection', async () => {
    const resolve = async (name: string) => (name === 'rebind.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
    const err = await failureOf(
      safeFetch(`${origin.url}/redirect?to=${encodeURIComponent(`http://rebind.test:${other.port}/x`)}`, { ...allow(origin), resolve }),
    );
    expect(err.reason).toBe('address_refused');
  });

  it('refuses a redirect to another scheme', async () => {
    const err = await failureOf(safeFetch(`${origin.url}/redirect?to=${encodeURIComponent('file:///etc/passwd')}`, allow(origin)));
    expect(err.reason).toBe('scheme_not_allowed');
  });

  it('follows 3 redirects and refuses the 4th', async () => {
    const ok = await safeFetch(`${origin.url}/chain?n=3`, allow(origin));
    expect((await buffer(ok.body)).toString()).toBe('end of chain');
    const err = await failureOf(safeFetch(`${origin.url}/chain?n=4`, allow(origin)));
    expect(err.reason).toBe('too_many_redirects');
  });

  it('keeps credentials on same-origin redirects and drops them (and custom headers) on the way to another host', async () => {
    const headers = { Authorization: 'Bearer t0ken', Cookie: 'a=b', 'X-Api-Key': 'k', 'User-Agent': 'satchel-test' };
    const same = await safeFetch(`${origin.url}/redirect?to=/hello`, { ...allow(origin), headers });
    same.discard();
    expect(origin.received.at(-1)!.headers.authorization).toBe('Bearer t0ken');

    const cross = await safeFetch(`${origin.url}/redirect?to=${encodeURIComponent(`${other.url}/landing`)}&status=307`, {
      ...allow(origin, other),
      headers,
    });
    expect((await buffer(cross.body)).toString()).toBe('other:/landing');
    expect(cross.url.href).toBe(`${other.url}/landing`);
    const landed = other.received.at(-1)!.headers;
    expect(landed.authorization).toBeUndefined();
    expect(landed.cookie).toBeUndefined();
    expect(landed['x-api-key']).toBeUndefined();
    expect(landed['user-agent']).toBe('satchel-test');
  });

  it('times out a server that never answers', async () => {
    const started = Date.now();
    const err = await failureOf(safeFetch(`${stall.url}/headers`, { ...allow(stall), timeoutMs: 300 }));
    expect(err.reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('times out a body that stalls part-way, failing the body stream', async () => {
    const res = await safeFetch(`${stall.url}/body`, { ...allow(stall), timeoutMs: 300 });
    const err = await failureOf(buffer(res.body));
    expect(err.reason).toBe('timeout');
  });

  it('cuts the body off as soon as it passes the cap and closes the connection', async () => {
    const before = origin.closed.length;
    const res = await safeFetch(`${origin.url}/big?bytes=${50 * 1024 * 1024}`, { ...allow(origin), maxBytes: 1024 * 1024 });
    const err = await failureOf(buffer(res.body));
    expect(err.reason).toBe('too_large');
    // The server saw its response cut short, not finished.
    expect(await origin.closed[before]).toBe(false);
    expect(res.bytesRead()).toBeLessThan(1024 * 1024 + 128 * 1024);
  });

  it('refuses a declared Content-Length over the cap without reading the body', async () => {
    const err = await failureOf(safeFetch(`${origin.url}/big-declared?bytes=${5 * 1024 * 1024}`, { ...allow(origin), maxBytes: 1024 }));
    expect(err.reason).toBe('too_large');
  });

  it('fails the body when the server hangs up before sending all it promised', async () => {
    const res = await safeFetch(`${origin.url}/truncated`, allow(origin));
    const err = await failureOf(buffer(res.body));
    expect(err.reason).toBe('network_error');
  });

  it('passes a body of exactly the cap', async () => {
    const res = await safeFetch(`${origin.url}/big?bytes=4096`, { ...allow(origin), maxBytes: 4096 });
    expect((await buffer(res.body)).length).toBe(4096);
  });
});
