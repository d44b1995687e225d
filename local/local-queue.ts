import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export interface LocalQueueOptions {
  name: string;
  /** FIFO: messages of one group are delivered one at a time, in order. */
  fifo: boolean;
  /** Deliveries before a message goes to the dead-letter list (SQS maxReceiveCount). */
  maxReceiveCount: number;
  /** Milliseconds before a failed message is delivered again (SQS visibility timeout). */
  retryDelayMs: number;
  handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  onDeadLetter?: (body: string, error: string) => void;
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
}

/**
 * An in-process stand-in for SQS: FIFO order per group, deduplication, delays, retries with
 * a receive count, and a dead-letter list. It calls the same handler with SQS-shaped events.
 */
export class LocalQueue {
  private readonly groups = new Map<string, Message[]>();
  private readonly busy = new Set<string>();
  private readonly seenDedup = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private closed = false;
  readonly deadLetters: { body: string; error: string }[] = [];

  constructor(private readonly opts: LocalQueueOptions) {
    if (opts.persistFile && existsSync(opts.persistFile)) {
      const saved = JSON.parse(readFileSync(opts.persistFile, 'utf8')) as { messages: Message[]; deadLetters: { body: string; error: string }[] };
      for (const msg of saved.messages) {
        const queue = this.groups.get(msg.group) ?? [];
        queue.push(msg);
        this.groups.set(msg.group, queue);
      }
      this.deadLetters.push(...saved.deadLetters);
    }
  }

  /** Delivers messages kept from an earlier run; call once the handler can take them. */
  start(): void {
    for (const [group, queue] of this.groups) this.schedule(group, (queue[0]?.notBefore ?? 0) - Date.now());
  }

  private persist(): void {
    const file = this.opts.persistFile;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    const messages = [...this.groups.values()].flat();
    // Write then rename, so a crash mid-write never leaves a torn file.
    writeFileSync(`${file}.tmp`, JSON.stringify({ messages, deadLetters: this.deadLetters }));
    renameSync(`${file}.tmp`, file);
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
    const queue = this.groups.get(group) ?? [];
    queue.push(msg);
    this.groups.set(group, queue);
    this.persist();
    this.schedule(group, msg.notBefore - now);
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
    let error: string | undefined;
    try {
      const res = await this.opts.handler({ Records: [this.record(msg)] });
      if (res && res.batchItemFailures.length) error = 'reported as a batch item failure';
    } catch (err) {
      error = (err as Error).message;
    } finally {
      this.inFlight--;
      this.busy.delete(group);
    }
    if (error === undefined || msg.receiveCount >= this.opts.maxReceiveCount) {
      queue.shift();
      if (error !== undefined) {
        this.deadLetters.push({ body: msg.body, error });
        this.opts.onDeadLetter?.(msg.body, error);
      }
      if (!queue.length) this.groups.delete(group);
      else this.schedule(group, 0);
    } else {
      msg.notBefore = Date.now() + this.opts.retryDelayMs;
      this.schedule(group, this.opts.retryDelayMs);
    }
    this.persist();
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
        ApproximateFirstReceiveTimestamp: now,
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
    const start = Date.now();
    while (this.inFlight > 0 && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 10));
  }
}
