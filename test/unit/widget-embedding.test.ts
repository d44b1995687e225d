import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { createIntakeHandler, type IntakePorts } from '../../functions/intake/handler';
import { BotFileError, BotRegistry, parseBot } from '../../shared/bots/loader';
import { frameAncestors, originProblem } from '../../shared/bots/origins';
import type { BotInput } from '../../shared/bots/schema';
import { pageResponse, widgetScriptResponse, type PageDeps } from '../../shared/http/pages';
import { routes } from '../../shared/http/routes';
import { httpEvent, invoke } from '../support/http-events';

/**
 * SPEC 11 at the edge: which origins a bot may list, the chat page's frame-ancestors and
 * X-Frame-Options per bot, the widget script's caching, and the bot's theme in its config.
 */
const bot = (id: string, web?: Record<string, unknown>, extra: Partial<BotInput> = {}) =>
  parseBot(JSON.stringify({ id, name: id, start: 'hi', interactions: { hi: { type: 'message', text: 'Hi' } }, ...(web && { channels: { web } }), ...extra }), `${id}.json`);

const problemsOf = (web: unknown) => {
  try {
    parseBot(JSON.stringify({ id: 'x', name: 'X', start: 'hi', interactions: { hi: { type: 'message', text: 'Hi' } }, channels: { web } }), 'bots/x.json');
  } catch (err) {
    expect(err).toBeInstanceOf(BotFileError);
    return (err as BotFileError).problems;
  }
  throw new Error('expected the bot to be rejected');
};

describe('allowed origins (channels.web.allowedOrigins)', () => {
  it.each([
    'https://www.example.com',
    'http://localhost:3001',
    'http://127.0.0.1:8080',
    'https://example.com:8443',
    'http://[::1]:3001',
    'https://xn--bcher-kva.example',
    'https://*.example.com',
    'https://*.shop.example.co.uk',
  ])('accepts %s', (origin) => {
    expect(originProblem(origin)).toBeUndefined();
  });

  it.each([
    ['https://example.com/', 'no path, query or fragment: write "https://example.com"'],
    ['https://example.com/chat', 'no path'],
    ['https://example.com?x=1', 'no path'],
    ['https://example.com#top', 'no path'],
    ['example.com', 'scheme://host[:port]'],
    ['*', 'scheme://host[:port]'],
    ["'self'", 'no spaces, commas, semicolons or quotes'],
    ['ftp://example.com', 'only http and https'],
    ['javascript://example.com', 'only http and https'],
    ['https://user:pw@example.com', 'no user name'],
    ['https://*', 'whole first label'],
    ['https://*.com', 'at least two labels'],
    ['https://*.[::1]', 'at least two labels'],
    ['https://a.*.example.com', 'whole first label'],
    ['https://ex*ample.com', 'whole first label'],
    ['https://example.com;script-src *', 'no spaces, commas, semicolons'],
    ['https://example.com https://evil.example', 'no spaces, commas, semicolons'],
    ['https://a.example,https://b.example', 'no spaces, commas, semicolons'],
    ['https://exa_mple.com', 'host names are letters'],
    ['https://bücher.example', 'punycode'],
    ['https://Example.COM', 'write it as the browser does: "https://example.com"'],
    ['https://example.com:443', 'write it as the browser does: "https://example.com"'],
    ['http://example.com:80', 'write it as the browser does: "http://example.com"'],
    ['http://127.1', 'write it as the browser does: "http://127.0.0.1"'],
    ['https://example.com:99999', 'scheme://host[:port]'],
  ])('refuses %s, saying why', (origin, why) => {
    expect(originProblem(origin)).toContain(why);
  });

  it('stops the bot at load, naming the JSON path of each bad origin', () => {
    expect(problemsOf({ allowedOrigins: ['https://ok.example', 'https://bad.example/path', 'nope'] })).toEqual([
      { path: '$.channels.web.allowedOrigins[1]', message: expect.stringContaining('no path') },
      { path: '$.channels.web.allowedOrigins[2]', message: expect.stringContaining('scheme://host[:port]') },
    ]);
    expect(problemsOf({ allowedOrigins: 'https://ok.example' })[0]!.path).toBe('$.channels.web.allowedOrigins');
    expect(problemsOf({ allowedOrigins: Array.from({ length: 51 }, (_, i) => `https://s${i}.example`) })[0]!.path).toBe('$.channels.web.allowedOrigins');
  });
});

describe('theme (channels.web.theme)', () => {
  it('accepts any of title, colour and greeting, and nothing else', () => {
    expect(bot('a', { theme: { title: 'Help', color: '#FFD400', greeting: 'Hello!' } }).channels.web?.theme).toEqual({ title: 'Help', color: '#FFD400', greeting: 'Hello!' });
    expect(bot('b', { theme: {} }).channels.web?.theme).toEqual({});
    expect(problemsOf({ theme: { color: 'red' } })).toEqual([{ path: '$.channels.web.theme.color', message: 'color is a hex colour written #rrggbb' }]);
    expect(problemsOf({ theme: { color: '#fff' } })[0]!.path).toBe('$.channels.web.theme.color');
    expect(problemsOf({ theme: { title: '' } })[0]!.path).toBe('$.channels.web.theme.title');
    expect(problemsOf({ theme: { greeting: 'x'.repeat(501) } })[0]!.path).toBe('$.channels.web.theme.greeting');
    expect(problemsOf({ theme: { font: 'Comic Sans' } })[0]!.path).toBe('$.channels.web.theme');
    expect(problemsOf({ colour: '#000000' })[0]!.path).toBe('$.channels.web');
  });
});

describe('frame-ancestors of the chat page, per bot', () => {
  const bots = new BotRegistry([
    bot('shop', { allowedOrigins: ['https://shop.example', 'https://*.shop.example', 'https://shop.example'] }),
    bot('plain', {}),
    bot('nobody', { allowedOrigins: [] }),
    bot('demo', { allowedOrigins: ['http://localhost:3001'] }),
    bot('fb-only', undefined, { channels: { messenger: { pageId: '1', appSecret: { secret: 'a' }, verifyToken: { secret: 'b' }, pageAccessToken: { secret: 'c' } } } } as Partial<BotInput>),
  ]);
  const deps: PageDeps = { bots, pages: { region: 'us-east-1' } };
  const headersFor = (name: 'chat' | 'agent', botParam?: string) => {
    const h = pageResponse(name, deps, botParam).headers as Record<string, string>;
    return { ancestors: /frame-ancestors ([^;]*)/.exec(h['content-security-policy']!)![1], xfo: h['x-frame-options'] };
  };

  it('lets exactly the listed origins frame a bot that lists some, without an X-Frame-Options that would forbid them', () => {
    expect(headersFor('chat', 'shop')).toEqual({ ancestors: 'https://shop.example https://*.shop.example', xfo: undefined });
  });

  it("allows only the API's own origin when a bot lists none", () => {
    expect(headersFor('chat', 'plain')).toEqual({ ancestors: "'self'", xfo: 'SAMEORIGIN' });
  });

  it('lets nobody frame a bot with an empty list, an unknown bot, a bot without the web channel, or the console', () => {
    expect(headersFor('chat', 'nobody')).toEqual({ ancestors: "'none'", xfo: 'DENY' });
    expect(headersFor('chat', 'no-such-bot')).toEqual({ ancestors: "'none'", xfo: 'DENY' });
    expect(headersFor('chat', 'fb-only')).toEqual({ ancestors: "'none'", xfo: 'DENY' });
    expect(headersFor('chat', 'shop,demo')).toEqual({ ancestors: "'none'", xfo: 'DENY' });
    expect(headersFor('agent', 'shop')).toEqual({ ancestors: "'none'", xfo: 'DENY' });
  });

  it('follows the default bot when the page is opened without ?bot=, as the page does', () => {
    expect(headersFor('chat')).toEqual({ ancestors: 'http://localhost:3001', xfo: undefined });
    expect(headersFor('chat', '')).toEqual({ ancestors: 'http://localhost:3001', xfo: undefined });
  });

  it('keeps the rest of the policy as it was', () => {
    const csp = (pageResponse('chat', deps, 'shop').headers as Record<string, string>)['content-security-policy']!;
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[^;]+; style-src 'sha256-[^;]+; /);
    expect(csp).toContain("form-action 'none'");
    expect(csp).toContain("base-uri 'none'");
  });

  it('is what frameAncestors gives each bot', () => {
    expect(frameAncestors(undefined)).toEqual(["'none'"]);
    expect(frameAncestors(bots.get('plain'))).toEqual(["'self'"]);
    expect(frameAncestors(bots.get('shop'))).toEqual(['https://shop.example', 'https://*.shop.example']);
  });
});

describe('GET /widget.js', () => {
  it('is in the one route table, public and served by intake', () => {
    expect(routes.filter((r) => r.path === '/widget.js')).toEqual([{ method: 'GET', path: '/widget.js', fn: 'intake' }]);
  });

  it('serves the script cacheably, and answers a matching If-None-Match with 304 and no body', () => {
    const first = widgetScriptResponse(undefined);
    const h = first.headers as Record<string, string>;
    expect(first.statusCode).toBe(200);
    expect(h['content-type']).toBe('text/javascript; charset=utf-8');
    expect(h['cache-control']).toBe('public, max-age=3600');
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(h['cross-origin-resource-policy']).toBe('cross-origin');
    expect(h.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(first.body).toContain('data-bot');

    const again = widgetScriptResponse(h.etag);
    expect(again.statusCode).toBe(304);
    expect(again.body).toBeUndefined();
    expect((again.headers as Record<string, string>).etag).toBe(h.etag);
    expect(widgetScriptResponse(`W/${h.etag}, "other"`).statusCode).toBe(304);
    expect(widgetScriptResponse('"stale"').statusCode).toBe(200);
  });

  it('serves the file from the web directory it is given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'satchel-web-'));
    try {
      writeFileSync(join(dir, 'widget.js'), '/* v2 */');
      const res = widgetScriptResponse(undefined, dir);
      expect(res.body).toBe('/* v2 */');
      expect((res.headers as Record<string, string>).etag).not.toBe((widgetScriptResponse(undefined).headers as Record<string, string>).etag);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the bot config for other sites', () => {
  const bots = new BotRegistry([bot('shop', { theme: { title: 'Shop help', color: '#ffd400' } }), bot('plain', {})]);
  const intake = createIntakeHandler(async () => ({ bots, socketUrl: undefined, pages: { region: 'us-east-1' } }) as unknown as IntakePorts);
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('carries the theme when the bot has one, and may be read from any origin', async () => {
    const res = await invoke(intake, httpEvent('GET', '/web/bots/shop/config'));
    expect(res.status).toBe(200);
    expect(res.body.theme).toEqual({ title: 'Shop help', color: '#ffd400' });
    expect(res.headers['access-control-allow-origin']).toBe('*');
    const plain = await invoke(intake, httpEvent('GET', '/web/bots/plain/config'));
    expect(plain.body).not.toHaveProperty('theme');
  });

  it('lets other sites read a 404 for an unknown bot too, so the widget can say what is wrong', async () => {
    const res = await invoke(intake, httpEvent('GET', '/web/bots/nope/config'));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('bot_not_found');
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });

  it('routes GET /widget.js and GET /?bot= through intake with the per-bot policy', async () => {
    const script = await intake(httpEvent('GET', '/widget.js', { headers: {} }), {} as Context);
    expect(script.statusCode).toBe(200);
    const page = await intake(httpEvent('GET', '/', { query: { bot: 'plain' } }), {} as Context);
    expect((page.headers as Record<string, string>)['content-security-policy']).toContain("frame-ancestors 'self'");
    const unknown = await intake(httpEvent('GET', '/', { query: { bot: 'nope' } }), {} as Context);
    expect((unknown.headers as Record<string, string>)['content-security-policy']).toContain("frame-ancestors 'none'");
  });
});
