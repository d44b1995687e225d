import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export interface LocalQueueOptions {
  name: string;
  /** FIFO: messages of one group are delivered one at a time, in order. */
  fifo: boolean;
  /** Deliveries before a message may go to the dead-letter list (SQS maxReceiveCount). */
  maxReceiveCount: number;
  /**
   * Milliseconds before the first retry of a failed message; each further retry waits twice
   * as long as the one before, up to `maxRetryDelayMs` (exponential backoff).
   */
  retryDelayMs: number;
  /** The longest wait between two attempts (default 60 s), so work resumes within that of an outage ending. */
  maxRetryDelayMs?: number;
  /**
   * How long a failing message keeps being retried, from its first delivery, before it may be
   * dead-lettered (default 0: `maxReceiveCount` alone decides). A message is dead-lettered when
   * it has failed `maxReceiveCount` times and this long has passed.
   */
  retryForMs?: number;
  handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  /** Told of each message moved to the dead-letter list, with its last error and its last record. */
  onDeadLetter?: (body: string, error: string, record: SQSRecord) => void;
  /** How often a running queue looks for a redrive request (`npm run redrive`); default 1 s. */
  redrivePollMs?: number;
  /**
   * Keeps queued messages in this JSON file so they survive a restart, as they would in
   * SQS. A message leaves the file only once handled (or dead-lettered), so one that was in
   * flight when the process died is delivered again: at least once, like SQS.
   */
  persistFile?: string;
}

interface Message {
  id: string;
  body: string;
  group: string;
  dedupId?: string;
  receiveCount: number;
  notBefore: number;
  /** First delivery (epoch ms): the retry budget counts from here. */
  firstReceivedAt?: number;
  /** The last attempt's error, while it waits for its retry. */
  lastError?: string;
}

/** A message that failed every retry, kept with its last error until redriven. */
export interface DeadLetter {
  body: string;
  error: string;
  id?: string;
  group?: string;
  dedupId?: string;
  receiveCount?: number;
  firstReceivedAt?: number;
  deadLetteredAt?: number;
}

interface SavedQueue {
  messages: Message[];
  deadLetters: DeadLetter[];
}

/** Files next to a queue's JSON file: a redrive request, its answer, and the running process's id. */
export const redriveFiles = (persistFile: string) => ({
  request: `${persistFile}.redrive`,
  done: `${persistFile}.redrive-done`,
  pid: `${persistFile}.pid`,
});

const readSaved = (file: string): SavedQueue => {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<SavedQueue>;
  return { messages: saved.messages ?? [], deadLetters: saved.deadLetters ?? [] };
};

/** Write then rename, so a crash mid-write never leaves a torn file. */
const writeSaved = (file: string, saved: SavedQueue): void => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(saved));
  renameSync(`${file}.tmp`, file);
};

/** A dead letter back as a fresh message: a new budget, at the end of its group. */
const revive = (d: DeadLetter, fifo: boolean, now: number): Message => ({
  id: randomUUID(),
  body: d.body,
  group: fifo ? (d.group ?? 'default') : randomUUID(),
  ...(d.dedupId !== undefined && { dedupId: d.dedupId }),
  receiveCount: 0,
  notBefore: now,
});

/**
 * Moves the dead letters of a queue file back into the queue, for a queue that is not running
 * (`npm run redrive` with the runtime stopped). Returns how many were moved.
 */
export function redriveQueueFile(persistFile: string, now = Date.now()): number {
  if (!existsSync(persistFile)) return 0;
  const saved = readSaved(persistFile);
  const fifo = persistFile.endsWith('.fifo.json');
  const moved = saved.deadLetters.length;
  if (!moved) return 0;
  writeSaved(persistFile, { messages: [...saved.messages, ...saved.deadLetters.map((d) => revive(d, fifo, now))], deadLetters: [] });
  return moved;
}

/**
 * An in-process stand-in for SQS: FIFO order per group, deduplication, delays, retries with
 * exponential backoff and a receive count, and a dead-letter list (with each message's last
 * error) that `redrive` sends back. It calls the same handler with SQS-shaped events.
 *
 * Durability: `send` returns only once the message is in the file (with `persistFile`), and a
 * delivery's receive count is written before the handler runs, so a message that crashes the
 * process still counts its receives and ends in the dead-letter list rather than looping.
 */
export class LocalQueue {
  private readonly groups = new Map<string, Message[]>();
  private readonly busy = new Set<string>();
  private readonly seenDedup = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private closed = false;
  private redrivePoll: NodeJS.Timeout | undefined;
  private readonly dead: DeadLetter[] = [];

  constructor(private readonly opts: LocalQueueOptions) {
    if (opts.persistFile && existsSync(opts.persistFile)) {
      const saved = readSaved(opts.persistFile);
      for (const msg of saved.messages) this.enqueue(msg);
      this.dead.push(...saved.deadLetters);
    }
  }

  /** The dead-letter list: each message's body and the error of its last attempt. */
  get deadLetters(): { body: string; error: string }[] {
    return this.dead.map(({ body, error }) => ({ body, error }));
  }

  /** The dead-letter list with what is known of each message (receives, times, group). */
  get deadLetterDetails(): readonly DeadLetter[] {
    return this.dead;
  }

  /**
   * Delivers messages kept from an earlier run; call once the handler can take them. With a
   * file, also answers redrive requests (`npm run redrive`) while running, and takes one made
   * while it was stopped.
   */
  start(): void {
    for (const [group, queue] of this.groups) this.schedule(group, (queue[0]?.notBefore ?? 0) - Date.now());
    const file = this.opts.persistFile;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(redriveFiles(file).pid, String(process.pid));
    this.answerRedriveRequest();
    this.redrivePoll = setInterval(() => this.answerRedriveRequest(), this.opts.redrivePollMs ?? 1000);
    this.redrivePoll.unref();
  }

  private enqueue(msg: Message): void {
    const queue = this.groups.get(msg.group) ?? [];
    queue.push(msg);
    this.groups.set(msg.group, queue);
  }

  private persist(): void {
    const file = this.opts.persistFile;
    if (!file) return;
    writeSaved(file, { messages: [...this.groups.values()].flat(), deadLetters: this.dead });
  }

  /**
   * Sends every dead letter back to the queue as a fresh message (a new retry budget, at the
   * end of its group), as SQS's dead-letter redrive does. Returns how many were moved.
   */
  redrive(): number {
    if (this.closed || !this.dead.length) return 0;
    const now = Date.now();
    const moved = this.dead.splice(0);
    const revived = moved.map((d) => revive(d, this.opts.fifo, now));
    for (const msg of revived) this.enqueue(msg);
    this.persist();
    for (const group of new Set(revived.map((m) => m.group))) this.schedule(group, 0);
    return moved.length;
  }

  /** A redrive request file (written by `npm run redrive`): take it, redrive, and answer. */
  private answerRedriveRequest(): void {
    const file = this.opts.persistFile;
    if (!file || this.closed) return;
    const { request, done } = redriveFiles(file);
    if (!existsSync(request)) return;
    try {
      const id = readFileSync(request, 'utf8').trim();
      rmSync(request, { force: true });
      const moved = this.redrive();
      writeFileSync(done, JSON.stringify({ id, moved }));
      if (moved) console.log(`${this.opts.name}: ${moved} dead letter(s) sent back to the queue`);
    } catch (err) {
      console.error(`${this.opts.name}: could not answer a redrive request (${(err as Error).message})`);
    }
  }

  send(body: string, opts: { group?: string; dedupId?: string; delaySeconds?: number } = {}): void {
    if (this.closed) throw new Error(`queue ${this.opts.name} is closed`);
    const now = Date.now();
    if (opts.dedupId) {
      // SQS FIFO drops a duplicate id seen in the last five minutes.
      const seen = this.seenDedup.get(opts.dedupId);
      if (seen !== undefined && now - seen < 5 * 60_000) return;
      this.seenDedup.set(opts.dedupId, now);
    }
    const group = this.opts.fifo ? (opts.group ?? 'default') : randomUUID();
    const msg: Message = { id: randomUUID(), body, group, dedupId: opts.dedupId, receiveCount: 0, notBefore: now + (opts.delaySeconds ?? 0) * 1000 };
    this.enqueue(msg);
    try {
      // On disk before the producer hears "sent"; if it cannot be kept, the send fails.
      this.persist();
    } catch (err) {
      const queue = this.groups.get(group)!;
      queue.splice(queue.indexOf(msg), 1);
      if (!queue.length) this.groups.delete(group);
      if (opts.dedupId) this.seenDedup.delete(opts.dedupId);
      throw err;
    }
    this.schedule(group, msg.notBefore - now);
  }

  /** The wait before the retry that follows the `receiveCount`-th failed delivery. */
  retryDelayAfter(receiveCount: number): number {
    const max = this.opts.maxRetryDelayMs ?? 60_000;
    return Math.min(max, this.opts.retryDelayMs * 2 ** Math.max(0, Math.min(receiveCount - 1, 30)));
  }

  private schedule(group: string, delayMs: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.pump(group);
    }, Math.max(0, delayMs));
    this.timers.add(t);
  }

  private async pump(group: string): Promise<void> {
    if (this.closed || this.busy.has(group)) return;
    const queue = this.groups.get(group);
    const msg = queue?.[0];
    if (!queue || !msg) {
      this.groups.delete(group);
      return;
    }
    const wait = msg.notBefore - Date.now();
    if (wait > 0) return this.schedule(group, wait);
    this.busy.add(group);
    this.inFlight++;
    msg.receiveCount++;
    msg.firstReceivedAt ??= Date.now();
    const record = this.record(msg);
    let error: string | undefined;
    try {
      // The receive counts even if the process dies during the handler, as in SQS.
      this.persist();
      const res = await this.opts.handler({ Records: [record] });
      if (res && res.batchItemFailures.length) error = 'reported as a batch item failure';
    } catch (err) {
      error = (err as Error).message;
    } finally {
      this.inFlight--;
      this.busy.delete(group);
    }
    const now = Date.now();
    const exhausted =
      error !== undefined && msg.receiveCount >= this.opts.maxReceiveCount && now - msg.firstReceivedAt! >= (this.opts.retryForMs ?? 0);
    if (error === undefined || exhausted) {
      queue.shift();
      if (!queue.length) this.groups.delete(group);
      else this.schedule(group, 0);
    } else {
      const delay = this.retryDelayAfter(msg.receiveCount);
      msg.lastError = error;
      msg.notBefore = now + delay;
      this.schedule(group, delay);
    }
    if (exhausted) {
      const { id, body, dedupId, receiveCount, firstReceivedAt } = msg;
      this.dead.push({ body, error: error!, id, group: msg.group, ...(dedupId !== undefined && { dedupId }), receiveCount, firstReceivedAt, deadLetteredAt: now });
    }
    try {
      this.persist();
    } catch (err) {
      // The state in memory goes on; the next write tries again.
      console.error(`${this.opts.name}: could not save the queue (${(err as Error).message})`);
    }
    if (exhausted) {
      try {
        this.opts.onDeadLetter?.(msg.body, error!, record);
      } catch (err) {
        console.error(`${this.opts.name}: dead-letter hook failed (${(err as Error).message})`);
      }
    }
  }

  private record(msg: Message): SQSRecord {
    const now = String(Date.now());
    return {
      messageId: msg.id,
      receiptHandle: msg.id,
      body: msg.body,
      attributes: {
        ApproximateReceiveCount: String(msg.receiveCount),
        SentTimestamp: now,
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(msg.firstReceivedAt ?? now),
        ...(this.opts.fifo && { MessageGroupId: msg.group, MessageDeduplicationId: msg.dedupId ?? msg.id }),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:local:000000000000:${this.opts.name}`,
      awsRegion: 'local',
    };
  }

  /** Resolves once nothing is queued or in flight (for tests and clean shutdown). */
  async drain(timeoutMs = 10_000): Promise<void> {
    const start = Date.now();
    while (this.inFlight > 0 || this.groups.size > 0) {
      if (Date.now() - start > timeoutMs) throw new Error(`queue ${this.opts.name} did not drain`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  get pending(): number {
    let n = 0;
    for (const q of this.groups.values()) n += q.length;
    return n;
  }

  /** Stops delivering; waits for the message in flight, if any. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.redrivePoll) {
      clearInterval(this.redrivePoll);
      this.redrivePoll = undefined;
      if (this.opts.persistFile) rmSync(redriveFiles(this.opts.persistFile).pid, { force: true });
    }
    const start = Date.now();
    while (this.inFlight > 0 && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 10));
  }
}
