import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { BUCKET_NAME } from '../../local/runtime';
import { mailTo } from './mailbox';
import * as samples from './samples';
import { postToS3, type WebUser } from './web-user';

/**
 * Helpers of the fault suite (test/faults): a bot that answers every message once with what it
 * got, counting of replies, stored files and emails per item, and `npm start` as a child process
 * that can be SIGKILLed and started again on the same data.
 */

/** A bot that asks, and answers each message (text or file) with "Got <it>." exactly once. */
export const faultBot = (recipientEmail?: string) => ({
  id: 'faults',
  name: 'Fault bot',
  attachments: { ...(recipientEmail && { recipientEmail }) },
  start: 'ask',
  interactions: {
    ask: { type: 'question', text: 'Say something.', answerFormat: 'any', variable: 'said', next: 'got' },
    got: { type: 'message', text: 'Got {said}.', next: 'ask' },
  },
});

/** A transcript message as the API shows it or the store keeps it: what the counts look at. */
type Said = { from: string; text?: string; attachments?: { fileName: string }[] };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Repeats `attempt` until it works (what a client does while a server is away); fails after `timeoutMs`. */
export async function untilItWorks<T>(attempt: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() - start > timeoutMs) throw err;
      await sleep(100);
    }
  }
}

/** A PDF whose name is the item's tag, so the reply, the stored file and the email can be told apart. */
export const fileItem = (tag: string) => ({ fileName: `${tag}.pdf`, contentType: 'application/pdf', body: samples.pdf(tag) });

/** Uploads a file (retrying the S3 POST while S3 is away) and sends it; resolves on the 202. */
export async function sendFile(user: WebUser, tag: string): Promise<void> {
  const file = fileItem(tag);
  const ticket = await untilItWorks(() => user.ticket({ fileName: file.fileName, size: file.body.length, contentType: file.contentType }));
  await untilItWorks(() => postToS3(ticket, file.body, file.fileName));
  await untilItWorks(() => user.send({ uploadIds: [ticket.uploadId] }));
}

/** Sends a text; retries a refused attempt (5xx or no connection) until it is accepted. */
export const sendText = (user: WebUser, tag: string): Promise<unknown> => untilItWorks(() => user.send({ text: tag }));

export interface Tally {
  items: number;
  lost: number;
  duplicated: number;
}

/** Items expected once each, against how many times each was seen. */
export function tally(expected: string[], seen: string[]): Tally {
  const counts = new Map<string, number>();
  for (const s of seen) counts.set(s, (counts.get(s) ?? 0) + 1);
  let lost = 0;
  let duplicated = 0;
  for (const tag of expected) {
    const n = counts.get(tag) ?? 0;
    if (n === 0) lost++;
    else duplicated += n - 1;
  }
  // Anything seen that was never sent counts as a duplicate too.
  duplicated += seen.filter((s) => !expected.includes(s)).length;
  return { items: expected.length, lost, duplicated };
}

/** The tags the bot answered ("Got <tag>." / "Got <tag>.pdf."), once per reply. */
export const repliedTags = (messages: Said[]): string[] =>
  messages.flatMap((m) => (m.from === 'bot' && m.text?.startsWith('Got ') ? [m.text.slice(4, -1).replace(/\.pdf$/, '')] : []));

/** The files kept in the transcript (user attachments), by tag. */
export const keptFileTags = (messages: Said[]): string[] =>
  messages.flatMap((m) => (m.from === 'user' ? (m.attachments ?? []).map((a) => a.fileName.replace(/\.pdf$/, '')) : []));

/** The attachment emails to `recipient`, by the tag of the file each carries. */
export async function emailedTags(sesUrl: string, recipient: string): Promise<string[]> {
  const mail = await mailTo(sesUrl, recipient);
  return mail.flatMap((e) => e.attachments.map((a) => (a.filename ?? '?').replace(/\.pdf$/, '')));
}

/** Every object key in the runtime's bucket. */
export async function bucketKeys(s3: S3Client): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET_NAME, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Prints the line the README quotes: scenario, items, lost, duplicated (and extras). */
export function report(scenario: string, t: Tally & Record<string, number | string>): void {
  const extras = Object.entries(t)
    .filter(([k]) => !['items', 'lost', 'duplicated'].includes(k))
    .map(([k, v]) => ` ${k}=${v}`)
    .join('');
  console.info(`[faults] ${scenario}: items=${t.items} lost=${t.lost} duplicated=${t.duplicated}${extras}`);
}

/** Queued work kept in a runtime's DATA_DIR/queues: messages waiting or in flight, and dead letters. */
export function queuedWork(dataDir: string): { messages: number; deadLetters: number } {
  const dir = join(dataDir, 'queues');
  let messages = 0;
  let deadLetters = 0;
  if (!existsSync(dir)) return { messages, deadLetters };
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const saved = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { messages?: unknown[]; deadLetters?: unknown[] };
    messages += saved.messages?.length ?? 0;
    deadLetters += saved.deadLetters?.length ?? 0;
  }
  return { messages, deadLetters };
}

export interface RuntimeProcess {
  url: string;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGKILL: no shutdown, no flush; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGINT and wait (a clean stop). */
  stop(): Promise<void>;
}

/** `npm start`'s entry point as a child process with `env`; resolves once it prints its URLs. */
export function startRuntimeProcess(env: Record<string, string>, timeoutMs = 30_000): Promise<RuntimeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve('local/start.ts')], {
    env: { ...process.env, PORT: '0', DYNAMODB_PORT: '0', S3_PORT: '0', SES_PORT: '0', DEMO_DOCS_PORT: '0', DEMO_SITE_PORT: '0', LOG_LEVEL: 'WARN', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`runtime did not start; output:\n${output}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /Web chat\s+(http:\/\/localhost:\d+)\//.exec(output);
      if (m) {
        clearTimeout(timer);
        resolvePromise({
          url: m[1]!,
          child,
          output: () => output,
          kill: async () => {
            if (!gone()) child.kill('SIGKILL');
            await exited;
          },
          stop: async () => {
            if (!gone()) child.kill('SIGINT');
            await exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited with ${code} before starting; output:\n${output}`));
    });
  });
}
