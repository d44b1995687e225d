import type { IncomingMessage, ServerResponse } from 'node:http';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionPrefix } from '../../shared/adapters/file-store';
import type { BotInput } from '../../shared/bots/schema';
import type { Deps } from '../support/emulators';
import { runFlowEvent } from '../../shared/app/run-flow';
import { createSendAttachment } from '../../shared/app/send-attachment';
import { createWebSession } from '../../shared/app/web-channel';
import type { AttachmentMeta, TranscriptMessage } from '../../shared/domain/transcript';
import { freshDeps, startTestEmulators, testBot, type TestEmulators } from '../support/emulators';
import { startFixtureServer, streamBytes, type FixtureServer } from '../support/fixture-server';
import { captureLogs } from '../support/logs';

/**
 * The Send Attachment action end to end: a bot flow on real dynalite and s3rver fetching
 * from a loopback document server that wants a bearer token.
 */

const TOKEN = 'Bearer tok-7Hq2xV9pLmN4rS8w';
const PDF = Buffer.from('%PDF-1.4\n% sample body for the action test\n%%EOF\n');

let emu: TestEmulators;
let docs: FixtureServer;

function serveDocs(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://docs');
  const q = (name: string) => url.searchParams.get(name) ?? undefined;
  if (url.pathname.startsWith('/redirect')) return void res.writeHead(302, { location: q('to')! }).end();
  if (url.pathname === '/chain') {
    const n = Number(q('n'));
    return void res.writeHead(302, { location: n > 0 ? `/chain?n=${n - 1}` : '/doc/end.pdf' }).end();
  }
  if (url.pathname === '/stall') return; // headers never come
  if (req.headers.authorization !== TOKEN) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('bad token');
  if (url.pathname === '/big') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    return streamBytes(res, Number(q('bytes')));
  }
  const headers: Record<string, string> = {};
  if (q('ct') !== 'none') headers['content-type'] = q('ct') ?? 'application/pdf';
  if (q('cd')) headers['content-disposition'] = q('cd')!;
  res.writeHead(200, headers).end(PDF);
}

beforeAll(async () => {
  emu = await startTestEmulators();
  docs = await startFixtureServer(serveDocs);
});

afterAll(async () => {
  await docs?.close();
  await emu?.close();
});

/** A bot whose start interaction is the action, with `done`/`sorry` after it. */
const actionBot = (id: string, action: Record<string, unknown>, extra: Partial<BotInput> & { noOnError?: boolean } = {}) => {
  const { noOnError, ...rest } = extra;
  return testBot({
    id,
    defaultAnswer: 'Default answer.',
    start: 'send',
    interactions: {
      send: {
        type: 'action',
        action: { type: 'sendAttachment', authorization: { secret: 'docs-token' }, ...action } as never,
        next: 'done',
        ...(!noOnError && { onError: 'sorry' }),
      },
      done: { type: 'message', text: 'Here it is.' },
      sorry: { type: 'message', text: 'Sorry, no document.' },
    },
    ...rest,
  });
};

type TestDeps = Awaited<ReturnType<typeof freshDeps>>;

const depsFor = (bots: ReturnType<typeof actionBot>[], allow = true) =>
  freshDeps(emu, {
    bots,
    secrets: { 'docs-token': TOKEN },
    config: { FETCH_ALLOW_HOSTS: allow ? docs.hostPort : '' },
  });

/** Starts a web session with the bot and runs its first turn; returns the transcript. */
async function runBot(deps: TestDeps, botId: string): Promise<{ sessionId: string; messages: TranscriptMessage[] }> {
  const { sessionId } = await createWebSession(deps, { botId });
  await deps.queue.drainInto((e) => runFlowEvent(deps, e));
  return { sessionId, messages: await deps.sessions.listMessages(sessionId) };
}

const attachmentOf = (messages: TranscriptMessage[]): AttachmentMeta | undefined => messages.flatMap((m) => m.attachments ?? [])[0];
const texts = (messages: TranscriptMessage[]) => messages.map((m) => m.text).filter(Boolean);

async function objectsUnder(deps: Deps, sessionId: string): Promise<string[]> {
  const out = await deps.files.s3.send(new ListObjectsV2Command({ Bucket: deps.files.bucket, Prefix: sessionPrefix(sessionId) }));
  return (out.Contents ?? []).map((o) => o.Key!);
}


describe('Send Attachment action', () => {
  it('GETs the endpoint with the secret verbatim as Authorization and the headers, placeholders filled, and sends the stored file', async () => {
    const bot = actionBot('happy', {
      endpoint: `${docs.url}/doc/{session.id}/statement?ch={channel}`,
      headers: { 'X-Tenant': 'acme', 'X-Session': '{session.id}' },
    });
    const deps = await depsFor([bot]);
    const before = docs.received.length;
    const { sessionId, messages } = await runBot(deps, 'happy');

    const got = docs.received.slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.url).toBe(`/doc/${sessionId}/statement?ch=web`);
    expect(got[0]!.headers.authorization).toBe(TOKEN);
    expect(got[0]!.headers['x-tenant']).toBe('acme');
    expect(got[0]!.headers['x-session']).toBe(sessionId);

    // The file joins the transcript as a bot message, then the flow goes to `next`.
    const fileMessage = messages.find((m) => m.attachments?.length);
    expect(fileMessage?.from).toBe('bot');
    const meta = attachmentOf(messages)!;
    expect(meta).toMatchObject({ fileName: 'statement', contentType: 'application/pdf', size: PDF.length });
    expect(texts(messages)).toEqual(['Here it is.']);
    expect(messages.indexOf(fileMessage!)).toBeLessThan(messages.findIndex((m) => m.text === 'Here it is.'));

    const record = await deps.attachments.get(sessionId, meta.id);
    expect(record).toMatchObject({ from: 'bot', sessionId, fileName: 'statement', size: PDF.length });
    expect(record!.key.startsWith(sessionPrefix(sessionId))).toBe(true);
    expect(record!.key).not.toContain('statement');
    const object = await deps.files.s3.send(new GetObjectCommand({ Bucket: deps.files.bucket, Key: record!.key }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(PDF)).toBe(true);
    expect(object.ContentType).toBe('application/pdf');
  });

  describe('file name and content type', () => {
    const cd = (v: string) => encodeURIComponent(v);
    // Endpoints are paths on the docs server, whose port is known only once it runs.
    const cases: { name: string; action: Record<string, unknown>; fileName: string; contentType: string }[] = [
      {
        name: 'the fileName setting wins over Content-Disposition and the URL, placeholders filled',
        action: { endpoint: `/doc/url-name.pdf?cd=${cd('attachment; filename="header.pdf"')}`, fileName: 'claim-{channel}.pdf' },
        fileName: 'claim-web.pdf',
        contentType: 'application/pdf',
      },
      {
        name: 'Content-Disposition filename when there is no setting',
        action: { endpoint: `/doc/url-name.pdf?cd=${cd('attachment; filename="header name.pdf"')}` },
        fileName: 'header name.pdf',
        contentType: 'application/pdf',
      },
      {
        name: 'Content-Disposition filename* wins over filename',
        action: { endpoint: `/doc/url-name.pdf?cd=${cd(`attachment; filename="fallback.pdf"; filename*=UTF-8''%E2%82%AC%20rates.pdf`)}` },
        fileName: '€ rates.pdf',
        contentType: 'application/pdf',
      },
      {
        name: 'the last URL path segment, decoded, when the response names nothing',
        action: { endpoint: `/doc/Quarterly%20report%20%C3%A9t%C3%A9.pdf?x=1` },
        fileName: 'Quarterly report été.pdf',
        contentType: 'application/pdf',
      },
      {
        name: 'a path-like Content-Disposition name keeps only its last part',
        action: { endpoint: `/doc/url-name.pdf?cd=${cd('attachment; filename="../../etc/passwd"')}` },
        fileName: 'passwd',
        contentType: 'application/pdf',
      },
      {
        name: '"download" when nothing names the file',
        action: { endpoint: `/doc/?ct=none` },
        fileName: 'download',
        contentType: 'application/octet-stream',
      },
      {
        name: 'the contentType setting wins over the response',
        action: { endpoint: `/doc/data.bin?ct=${cd('text/plain; charset=utf-8')}`, contentType: 'application/x-custom' },
        fileName: 'data.bin',
        contentType: 'application/x-custom',
      },
      {
        name: "the response's content type when there is no setting",
        action: { endpoint: `/doc/notes.txt?ct=${cd('text/plain; charset=utf-8')}` },
        fileName: 'notes.txt',
        contentType: 'text/plain; charset=utf-8',
      },
    ];
    let deps: TestDeps;
    beforeAll(async () => {
      deps = await depsFor(cases.map((c, i) => actionBot(`naming-${i}`, { ...c.action, endpoint: `${docs.url}${c.action.endpoint as string}` })));
    });

    it.each(cases.map((c, i) => [c.name, i] as const))('%s', async (_name, i) => {
      const { sessionId, messages } = await runBot(deps, `naming-${i}`);
      const meta = attachmentOf(messages);
      expect(meta).toMatchObject({ fileName: cases[i]!.fileName, contentType: cases[i]!.contentType });
      const record = await deps.attachments.get(sessionId, meta!.id);
      const object = await deps.files.s3.send(new GetObjectCommand({ Bucket: deps.files.bucket, Key: record!.key }));
      expect(object.ContentType).toBe(cases[i]!.contentType);
      await object.Body!.transformToByteArray();
    });
  });

  describe('failures go to onError', () => {
    const failing: { name: string; endpoint: () => string; reason: string; allow?: boolean; secret?: string }[] = [
      { name: 'wrong token (401)', endpoint: () => `${docs.url}/doc/x.pdf`, reason: 'http_401', secret: 'Bearer wrong' },
      { name: 'the cloud metadata address', endpoint: () => 'http://169.254.169.254/latest/meta-data/iam/', reason: 'address_refused' },
      { name: 'loopback that is not allowlisted', endpoint: () => `${docs.url}/doc/x.pdf`, reason: 'address_refused', allow: false },
      { name: 'IPv4-mapped loopback', endpoint: () => `http://[::ffff:127.0.0.1]:${docs.port}/doc/x.pdf`, reason: 'address_refused' },
      { name: 'decimal loopback', endpoint: () => `http://2130706433:${docs.port}/doc/x.pdf`, reason: 'address_refused', allow: false },
      { name: 'octal loopback', endpoint: () => `http://0177.0.0.1:${docs.port}/doc/x.pdf`, reason: 'address_refused', allow: false },
      { name: 'a host name resolving to loopback', endpoint: () => `http://localhost:${docs.port}/doc/x.pdf`, reason: 'address_refused' },
      {
        name: 'a redirect from the allowlisted host into the metadata address',
        endpoint: () => `${docs.url}/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`,
        reason: 'address_refused',
      },
      { name: 'more than 3 redirects', endpoint: () => `${docs.url}/chain?n=4`, reason: 'too_many_redirects' },
      { name: 'a non-http scheme after a redirect', endpoint: () => `${docs.url}/redirect?to=${encodeURIComponent('file:///etc/passwd')}`, reason: 'scheme_not_allowed' },
    ];

    it.each(failing.map((f) => [f.name, f] as const))('%s', async (_name, f) => {
      const deps = await freshDeps(emu, {
        bots: [actionBot('fails', { endpoint: f.endpoint() })],
        secrets: { 'docs-token': f.secret ?? TOKEN },
        config: { FETCH_ALLOW_HOSTS: f.allow === false ? '' : docs.hostPort },
      });
      const before = docs.received.length;
      let outcome: unknown;
      const action = deps.ports.performAction!;
      deps.ports.performAction = async (s, p) => (outcome = await action(s, p));
      const { sessionId, messages } = await runBot(deps, 'fails');
      expect(outcome).toEqual({ ok: false, reason: f.reason });
      expect(texts(messages)).toEqual(['Sorry, no document.']);
      expect(attachmentOf(messages)).toBeUndefined();
      expect(await objectsUnder(deps, sessionId)).toEqual([]);
      if (f.reason === 'address_refused' && !f.endpoint().includes('redirect')) expect(docs.received.length).toBe(before);
    });

    it('follows exactly 3 redirects', async () => {
      const deps = await depsFor([actionBot('three', { endpoint: `${docs.url}/chain?n=2` })]);
      // /chain?n=2 → n=1 → n=0 → /doc/end.pdf: three redirects.
      const before = docs.received.length;
      const { messages } = await runBot(deps, 'three');
      expect(docs.received.slice(before).map((r) => r.url)).toEqual(['/chain?n=2', '/chain?n=1', '/chain?n=0', '/doc/end.pdf']);
      // Named after the endpoint the bot asked for, not where it was redirected.
      expect(attachmentOf(messages)).toMatchObject({ fileName: 'chain', size: PDF.length });
    });

    it('times out an endpoint that stalls', async () => {
      const deps = await depsFor([actionBot('stall', { endpoint: `${docs.url}/stall` })]);
      deps.ports.performAction = createSendAttachment(deps, { connectTimeoutMs: 1000, timeoutMs: 400 });
      const started = Date.now();
      const { messages } = await runBot(deps, 'stall');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(texts(messages)).toEqual(['Sorry, no document.']);
    });

    it('gives the default answer when the action has no onError, without counting it towards agentThreshold', async () => {
      const deps = await freshDeps(emu, {
        bots: [actionBot('no-onerror', { endpoint: `${docs.url}/doc/x.pdf` }, { noOnError: true })],
        secrets: { 'docs-token': 'Bearer wrong' },
        config: { FETCH_ALLOW_HOSTS: docs.hostPort },
      });
      const { sessionId, messages } = await runBot(deps, 'no-onerror');
      expect(texts(messages)).toEqual(['Default answer.']);
      expect((await deps.sessions.get(sessionId))!.flow.defaultAnswers).toBe(0);
    });
  });

  describe('size cap', () => {
    it.each([
      ['within one upload part', 4 * 1024 * 1024 + 512 * 1024, 64 * 1024],
      ['after multipart parts were uploaded', 64 * 1024 * 1024, 11 * 1024 * 1024],
    ])('cuts the body off %s, fails, and leaves no object behind', async (_name, bytes, limit) => {
      const deps = await depsFor([actionBot('capped', { endpoint: `${docs.url}/big?bytes=${bytes}` }, { attachments: { sizeLimitBytes: limit } })]);
      let outcome: unknown;
      const action = deps.ports.performAction!;
      deps.ports.performAction = async (s, p) => (outcome = await action(s, p));
      const commands: string[] = [];
      deps.files.s3.middlewareStack.add(
        (next, context) => async (args) => {
          commands.push(context.commandName!);
          return next(args);
        },
        { step: 'initialize' },
      );
      const before = docs.closed.length;
      const { sessionId, messages } = await runBot(deps, 'capped');
      expect(outcome).toEqual({ ok: false, reason: 'too_large' });
      expect(texts(messages)).toEqual(['Sorry, no document.']);
      expect(await objectsUnder(deps, sessionId)).toEqual([]);
      if (bytes > limit + 5 * 1024 * 1024) {
        // Parts went up before the cap was hit: the multipart upload is aborted, not left behind.
        expect(commands).toContain('UploadPartCommand');
        expect(commands).toContain('AbortMultipartUploadCommand');
        expect(commands).not.toContain('CompleteMultipartUploadCommand');
      }
      expect(commands).toContain('DeleteObjectCommand');
      // The download was cut short, not read to the end.
      expect(await docs.closed[before]).toBe(false);
    });

    it('accepts a body of exactly the limit', async () => {
      const deps = await depsFor([actionBot('exact', { endpoint: `${docs.url}/big?bytes=4096` }, { attachments: { sizeLimitBytes: 4096 } })]);
      const { messages } = await runBot(deps, 'exact');
      expect(attachmentOf(messages)).toMatchObject({ size: 4096, fileName: 'big' });
    });
  });

  it('keeps the token out of every log line, for successes and each kind of failure', async () => {
    const secretPart = TOKEN.split(' ')[1]!;
    const deps = await depsFor([
      actionBot('log-ok', { endpoint: `${docs.url}/doc/ok.pdf` }),
      actionBot('log-big', { endpoint: `${docs.url}/big?bytes=100000` }, { attachments: { sizeLimitBytes: 1000 } }),
      actionBot('log-refused', { endpoint: `${docs.url}/redirect?to=${encodeURIComponent('http://127.0.0.1:1/')}` }),
    ]);
    const wrong = await freshDeps(emu, {
      bots: [actionBot('log-401', { endpoint: `${docs.url}/doc/x.pdf` })],
      secrets: { 'docs-token': `Bearer ${secretPart}-but-wrong` },
      config: { FETCH_ALLOW_HOSTS: docs.hostPort },
    });
    const ids: string[] = [];
    const lines = await captureLogs(async () => {
      for (const botId of ['log-ok', 'log-big', 'log-refused']) ids.push((await runBot(deps, botId)).sessionId);
      ids.push((await runBot(wrong, 'log-401')).sessionId);
    });

    const entries = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const failures = entries.filter((e) => e.message === 'send attachment failed');
    // The failures are logged, with what an operator needs.
    expect(failures.map((e) => e.reason).sort()).toEqual(['address_refused', 'http_401', 'too_large']);
    for (const e of failures) expect(e).toMatchObject({ interactionId: 'send', host: docs.hostPort });
    expect(failures.map((e) => e.sessionId).sort()).toEqual(ids.slice(1).sort());
    expect(failures.find((e) => e.reason === 'http_401')).toMatchObject({ status: 401 });
    expect(entries.some((e) => e.message === 'attachment sent' && e.sessionId === ids[0])).toBe(true);
    // And the token appears nowhere, in whole or in part.
    for (const line of lines) expect(line).not.toContain(secretPart);
  });
});
