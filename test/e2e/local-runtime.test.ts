import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, startTestRuntime } from '../support/runtime';

type Msg = { id: string; from: string; text?: string; buttons?: { label: string }[] };

async function api(base: string, method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('local runtime end to end (npm start on random ports)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('holds a conversation with the demo bot over HTTP', async () => {
    const rt = await startTestRuntime();
    cleanups.push(rt.stop);
    const base = rt.urls.app;

    const config = await api(base, 'GET', '/web/bots/demo/config');
    expect(config.status).toBe(200);
    expect(config.body.name).toBe('Satchel demo');

    const created = await api(base, 'POST', '/web/sessions', { botId: 'demo', userName: 'Ann' });
    expect(created.status).toBe(201);
    const { sessionId, token } = created.body;

    const read = (after = '0') => api(base, 'GET', `/web/sessions/${sessionId}/messages?after=${after}`, undefined, token);
    const greeting = await eventually(async () => {
      const r = await read();
      return r.body.messages.length ? (r.body.messages as Msg[]) : undefined;
    }, 10_000, 'the greeting');
    expect(greeting[0]!.from).toBe('bot');
    const labels = greeting[0]!.buttons!.map((b) => b.label);
    const nameButton = labels.indexOf('Tell me my name');
    expect(nameButton).toBeGreaterThanOrEqual(0);

    expect((await api(base, 'POST', `/web/sessions/${sessionId}/messages`, { buttonIndex: nameButton }, token)).status).toBe(202);
    await eventually(async () => ((await read()).body.messages as Msg[]).find((m) => m.text === 'What should I call you?'), 10_000, 'the question');
    expect((await api(base, 'POST', `/web/sessions/${sessionId}/messages`, { text: 'Annie' }, token)).status).toBe(202);
    const reply = await eventually(async () => ((await read()).body.messages as Msg[]).find((m) => m.text === 'Nice to meet you, Annie!'), 10_000, 'the reply');
    expect(reply.from).toBe('bot');

    const all = (await read()).body.messages as Msg[];
    expect(all.map((m) => Number(m.id))).toEqual(all.map((_, i) => i + 1));

    // DNS rebinding: a request naming another host is refused before any handler runs.
    const { request } = await import('node:http');
    const rebound = await new Promise<{ status?: number; body: string }>((done, fail) => {
      const req = request(`${base}/local/agent-token`, { method: 'POST', headers: { host: 'attacker.example', 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => done({ status: res.statusCode, body }));
      });
      req.on('error', fail);
      req.end(JSON.stringify({ agentId: 'evil', name: 'Evil' }));
    });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).error.code).toBe('forbidden_host');

    // Error contract over real HTTP.
    expect((await api(base, 'GET', '/nope')).body.error.code).toBe('not_found');
    expect((await api(base, 'GET', `/web/sessions/${sessionId}/messages`)).status).toBe(401);
  });

  it('expires sessions through the TTL sweep: 410 at once, then the records are gone', async () => {
    const botsDir = mkdtempSync(join(tmpdir(), 'bots-'));
    writeFileSync(
      join(botsDir, 'short.json'),
      JSON.stringify({ id: 'short', name: 'Short', sessionTimeoutSeconds: 60, start: 'hi', interactions: { hi: { type: 'message', text: 'hi' } } }),
    );
    const rt = await startTestRuntime({ botsDir, secrets: {} });
    cleanups.push(rt.stop);
    const created = await api(rt.urls.app, 'POST', '/web/sessions', { botId: 'short' });
    const { sessionId } = created.body;
    await rt.events.drain();
    expect((await rt.deps.sessions.listKeys(sessionId)).length).toBe(2); // META + greeting

    // Sweep as if 61 s had passed: the same stream record AWS sends reaches the expiry function.
    await rt.sweeper.sweep(Date.now() + 61_000);
    expect(await rt.deps.sessions.listKeys(sessionId)).toEqual([]);
    const after = await api(rt.urls.app, 'GET', `/web/sessions/${sessionId}/messages`, undefined, created.body.token);
    expect(after.status).toBe(410);
    expect(after.body.error.code).toBe('session_expired');
  });

  it('keeps data across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'satchel-persist-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const first = await startTestRuntime({ dataDir, inMemoryDynamo: false });
    const created = await api(first.urls.app, 'POST', '/web/sessions', { botId: 'demo' });
    await first.events.drain();
    await first.stop();
    // The queue state is on disk too (empty now: the greeting turn was handled).
    const saved = JSON.parse(readFileSync(join(dataDir, 'queues', 'satchel-events.fifo.json'), 'utf8'));
    expect(saved.messages).toEqual([]);
    mkdirSync(dataDir, { recursive: true });

    const second = await startTestRuntime({ dataDir, inMemoryDynamo: false });
    cleanups.push(second.stop);
    const res = await api(second.urls.app, 'GET', `/web/sessions/${created.body.sessionId}/messages`, undefined, created.body.token);
    expect(res.status).toBe(200);
    expect(res.body.messages.length).toBeGreaterThan(0);
  });
});

/** Runs `npm start`'s entry point as a user would, with the given environment. */
function runStart(env: Record<string, string>, opts: { untilOutput?: RegExp; timeoutMs?: number } = {}) {
  return new Promise<{ code: number | null; output: string; signal?: () => void }>((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve('local/start.ts')], {
      env: { ...process.env, DYNAMODB_PORT: '0', S3_PORT: '0', SES_PORT: '0', PORT: '0', DEMO_DOCS_PORT: '0', DEMO_SITE_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; output so far:\n${output}`));
    }, opts.timeoutMs ?? 30_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (opts.untilOutput?.test(output)) {
        opts.untilOutput = undefined;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

describe('npm start as a process', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'satchel-start-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('prints the URLs and shuts down cleanly on Ctrl-C', async () => {
    const res = await runStart({ DATA_DIR: join(tmp, 'data1'), SECRETS_FILE: join(tmp, 'none.json') }, { untilOutput: /Press Ctrl-C/ });
    expect(res.output).toMatch(/Web chat\s+http:\/\/localhost:\d+\//);
    expect(res.output).toMatch(/Agent console\s+http:\/\/localhost:\d+\/agent/);
    // The console signs in against the local Cognito stand-in; the demo agent's credentials are printed.
    expect(res.output).toMatch(/sign in as agent@example\.com, password \S{16,}/);
    expect(res.output).toMatch(/Mailbox \(SES\)\s+http:\/\/127\.0\.0\.1:\d+\//);
    // The widget demo site (on a random port here, which the demo bot does not list, so it says how to allow it).
    expect(res.output).toMatch(/Widget demo\s+http:\/\/localhost:\d+\/ {2}\(another site embedding the "demo" bot's chat\)\n\s+\(add "http:\/\/localhost:\d+" to that bot's channels\.web\.allowedOrigins/);
    expect(res.output).toMatch(/SIGINT: stopping/);
    expect(res.output).toMatch(/Created .*none\.json from secrets\.example\.json/);
    expect(res.code).toBe(0);
  });

  it('fills demo secrets missing from an older secrets file from the example, and says so', async () => {
    const secretsFile = join(tmp, 'old-secrets.json');
    writeFileSync(secretsFile, '{}');
    const res = await runStart({ DATA_DIR: join(tmp, 'data4'), SECRETS_FILE: secretsFile }, { untilOutput: /Press Ctrl-C/ });
    expect(res.output).toMatch(/Secret "demo-docs-token" is not in .*old-secrets\.json; using the demo value/);
    expect(res.output).toMatch(/Web chat\s+http:\/\/localhost:\d+\//);
    expect(res.code).toBe(0);
  });

  it('exits non-zero naming the file, path and problem for a bad bot file', async () => {
    const botsDir = join(tmp, 'badbots');
    mkdirSync(botsDir);
    writeFileSync(join(botsDir, 'broken.json'), JSON.stringify({ id: 'broken', name: 'B', start: 'x', interactions: { x: { type: 'message', text: 'x', next: 'missing' } } }));
    const res = await runStart({ BOTS_DIR: botsDir, DATA_DIR: join(tmp, 'data2') });
    expect(res.code).toBe(1);
    expect(res.output).toContain('broken.json');
    expect(res.output).toContain('$.interactions.x.next: no interaction named "missing"');
    expect(res.output).not.toMatch(/\n\s+at .*:\d+:\d+\)?\n/); // a clear message, not a stack trace
  });

  it('exits non-zero naming a missing secret', async () => {
    const botsDir = join(tmp, 'secretbots');
    mkdirSync(botsDir);
    writeFileSync(
      join(botsDir, 'needs.json'),
      JSON.stringify({
        id: 'needs',
        name: 'N',
        start: 'x',
        interactions: { x: { type: 'action', action: { type: 'sendAttachment', endpoint: 'https://example.com/f', authorization: { secret: 'docs-token-xyz' } } } },
      }),
    );
    const secretsFile = join(tmp, 'secrets.json');
    writeFileSync(secretsFile, '{}');
    const res = await runStart({ BOTS_DIR: botsDir, SECRETS_FILE: secretsFile, DATA_DIR: join(tmp, 'data3') });
    expect(res.code).toBe(1);
    expect(res.output).toContain('needs secret "docs-token-xyz"');
  });
});
