import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_DOCS_DEFAULT_PORT, DEMO_DOCS_SECRET, samplePdf } from '../../local/demo-docs';
import { eventually, startTestRuntime } from '../support/runtime';

/**
 * `npm start`'s demo: the local runtime serves a sample PDF behind a token and the demo bot
 * sends it with the Send Attachment action. The shipped bots/ and secrets.example.json are
 * used as they are, except that the demo bot's document port (4570) is moved to a free one
 * so tests can run side by side.
 */

interface MessageView {
  from: string;
  text?: string;
  buttons?: { label: string }[];
  attachments?: { id: string; fileName: string; contentType: string; size: number; url: string }[];
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A copy of bots/ whose demo document endpoint points at `port`. */
function botsDirFor(port: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'satchel-demo-bots-'));
  dirs.push(dir);
  cpSync(resolve('bots'), dir, { recursive: true });
  const file = join(dir, 'demo.json');
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(`127.0.0.1:${DEMO_DOCS_DEFAULT_PORT}/`);
  writeFileSync(file, text.replaceAll(`127.0.0.1:${DEMO_DOCS_DEFAULT_PORT}/`, `127.0.0.1:${port}/`));
  return dir;
}

async function demoRuntime() {
  const port = await freePort();
  const example = JSON.parse(readFileSync(resolve('secrets.example.json'), 'utf8')) as Record<string, string>;
  return startTestRuntime({ botsDir: botsDirFor(port), demoDocsPort: port, secrets: example });
}

async function chat(app: string) {
  const created = await fetch(`${app}/web/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ botId: 'demo' }) });
  expect(created.status).toBe(201);
  const { sessionId, token } = (await created.json()) as { sessionId: string; token: string };
  const auth = { authorization: `Bearer ${token}` };
  const messages = async () => {
    const res = await fetch(`${app}/web/sessions/${sessionId}/messages`, { headers: auth });
    return ((await res.json()) as { messages: MessageView[] }).messages;
  };
  const press = async (label: string) => {
    const offered = await eventually(async () => (await messages()).findLast((m) => m.buttons?.length)?.buttons, 10_000, 'buttons');
    const buttonIndex = offered.findIndex((b) => b.label === label);
    expect(buttonIndex).toBeGreaterThanOrEqual(0);
    const res = await fetch(`${app}/web/sessions/${sessionId}/messages`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ buttonIndex }),
    });
    expect(res.status).toBe(202);
  };
  return { sessionId, messages, press };
}

describe('demo bot: Send me a sample document', () => {
  it('fetches the token-protected sample PDF and hands it to the user through /files', async () => {
    const rt = await demoRuntime();
    try {
      expect(rt.urls.demoDocs).toBeDefined();
      // The document server itself wants the token.
      expect((await fetch(`${rt.urls.demoDocs}/documents/sample.pdf`)).status).toBe(401);

      const { sessionId, messages, press } = await chat(rt.urls.app);
      await press('Send me a sample document');
      const all = await eventually(
        async () => {
          const m = await messages();
          return m.some((x) => x.text?.startsWith('Here is the sample document')) ? m : undefined;
        },
        15_000,
        'the sample document',
      );
      const file = all.flatMap((m) => m.attachments ?? [])[0]!;
      const expected = samplePdf(sessionId); // the endpoint carries {session.id} as the reference
      expect(file).toMatchObject({ fileName: 'satchel-sample.pdf', contentType: 'application/pdf', size: expected.length });

      const link = await fetch(new URL(file.url, rt.urls.app), { redirect: 'manual' });
      expect(link.status).toBe(302);
      const download = await fetch(link.headers.get('location')!);
      expect(download.status).toBe(200);
      const bytes = Buffer.from(await download.arrayBuffer());
      expect(bytes.equals(expected)).toBe(true);
      expect(bytes.toString('latin1')).toContain(`Reference: ${sessionId}`);
    } finally {
      await rt.stop();
    }
  });

  it('says sorry when the endpoint rejects the token', async () => {
    const rt = await demoRuntime();
    try {
      // The document server keeps the demo token; the bot now sends another one.
      rt.deps.secrets.get = async (name: string) => (name === DEMO_DOCS_SECRET ? 'Bearer not-the-demo-token' : '');
      const { messages, press } = await chat(rt.urls.app);
      await press('Send me a sample document');
      const all = await eventually(
        async () => {
          const m = await messages();
          return m.some((x) => x.text?.startsWith('Sorry, the sample document is unavailable')) ? m : undefined;
        },
        15_000,
        'the sorry message',
      );
      expect(all.flatMap((m) => m.attachments ?? [])).toEqual([]);
    } finally {
      await rt.stop();
    }
  });
});

describe('samplePdf', () => {
  it('is a well-formed PDF: header, objects at the offsets its xref table gives, trailer', () => {
    const pdf = samplePdf('ref (with parens) and \\ backslash');
    const text = pdf.toString('latin1');
    expect(text.startsWith('%PDF-1.4\n')).toBe(true);
    expect(text.trimEnd().endsWith('%%EOF')).toBe(true);
    const startxref = Number(/startxref\n(\d+)\n/.exec(text)![1]);
    expect(text.slice(startxref, startxref + 4)).toBe('xref');
    const entries = [...text.slice(startxref).matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]));
    expect(entries).toHaveLength(5);
    entries.forEach((offset, i) => expect(text.slice(offset).startsWith(`${i + 1} 0 obj\n`)).toBe(true));
    const length = Number(/\/Length (\d+) >>\nstream\n/.exec(text)![1]);
    const streamStart = text.indexOf('stream\n') + 'stream\n'.length;
    expect(text.slice(streamStart + length, streamStart + length + '\nendstream'.length)).toBe('\nendstream');
    expect(text).toContain('(Reference: ref \\(with parens\\) and \\\\ backslash) Tj');
  });
});
