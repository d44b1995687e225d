import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { LocalQueue, redriveFiles, type LocalQueueOptions } from '../../local/local-queue';
import { queueIsRunning, redriveQueue } from '../../local/redrive';

/**
 * Issue 12: the local queues retry like SQS (backoff, a time budget, then the dead-letter
 * list with the last error), keep everything on disk, and send dead letters back on redrive.
 * Timings are milliseconds here; the assertions are about counts and order, not durations.
 */
const tmpFile = (name: string) => join(mkdtempSync(join(tmpdir(), 'lq-')), `${name}.json`);
const queue = (opts: Partial<LocalQueueOptions> & Pick<LocalQueueOptions, 'handler'>) =>
  new LocalQueue({ name: 'q.fifo', fifo: true, maxReceiveCount: 3, retryDelayMs: 2, maxRetryDelayMs: 8, ...opts });

describe('LocalQueue retries (issue 12)', () => {
  it('backs off exponentially up to the cap', () => {
    const q = queue({ handler: async () => undefined, retryDelayMs: 1000, maxRetryDelayMs: 60_000 });
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => q.retryDelayAfter(n))).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('keeps retrying past maxReceiveCount until the time budget is spent, then dead-letters with the last error', async () => {
    let attempts = 0;
    const dead: { body: string; error: string; record: SQSRecord }[] = [];
    const q = queue({
      retryForMs: 300,
      handler: async () => {
        attempts++;
        throw new Error(`down (attempt ${attempts})`);
      },
      onDeadLetter: (body, error, record) => void dead.push({ body, error, record }),
    });
    q.send('doomed', { group: 'g', dedupId: 'd1' });
    await q.drain(5000);
    // 3 receives are reached within a few ms; the 300-ms budget needs many more at <= 8 ms apart.
    expect(attempts).toBeGreaterThan(3);
    const [details] = q.deadLetterDetails;
    expect(details!.deadLetteredAt! - details!.firstReceivedAt!).toBeGreaterThanOrEqual(300);
    expect(q.deadLetters).toEqual([{ body: 'doomed', error: `down (attempt ${attempts})` }]);
    expect(q.deadLetterDetails[0]).toMatchObject({ group: 'g', dedupId: 'd1', receiveCount: attempts });
    expect(dead).toHaveLength(1);
    expect(dead[0]!.record.attributes.ApproximateReceiveCount).toBe(String(attempts));
    expect(dead[0]!.record.attributes.MessageDeduplicationId).toBe('d1');
    await q.close();
  });

  it('with no time budget, dead-letters after exactly maxReceiveCount receives (SQS behaviour)', async () => {
    let attempts = 0;
    const failing = queue({
      retryForMs: 0,
      handler: async () => {
        attempts++;
        throw new Error('no');
      },
    });
    failing.send('x', { group: 'g' });
    await failing.drain();
    expect(attempts).toBe(3);
    expect(failing.deadLetters).toEqual([{ body: 'x', error: 'no' }]);
    await failing.close();
  });

  it('recovers when the outage ends inside the budget: nothing is dead-lettered, order is kept', async () => {
    let down = true;
    const seen: string[] = [];
    const q = queue({
      retryForMs: 10_000,
      handler: async (e: SQSEvent) => {
        if (down) throw new Error('outage');
        seen.push(e.Records[0]!.body);
      },
    });
    q.send('a', { group: 'g' });
    q.send('b', { group: 'g' });
    await new Promise((r) => setTimeout(r, 60));
    expect(seen).toEqual([]);
    down = false;
    await q.drain();
    expect(seen).toEqual(['a', 'b']);
    expect(q.deadLetters).toEqual([]);
    await q.close();
  });

  it('keeps messages, receive counts and dead letters across a restart', async () => {
    const persistFile = tmpFile('q.fifo');
    let countOnDisk: number | undefined;
    const first = queue({
      persistFile,
      retryForMs: 0,
      handler: async (e: SQSEvent) => {
        if (e.Records[0]!.body === 'probe') {
          // The receive is on disk before the handler runs (a crash here still counts it).
          countOnDisk = JSON.parse(readFileSync(persistFile, 'utf8')).messages.find((m: { body: string }) => m.body === 'probe').receiveCount;
          return;
        }
        throw new Error('storage down');
      },
    });
    first.send('probe', { group: 'p' });
    first.send('poison', { group: 'g', dedupId: 'e1' });
    await first.drain();
    first.send('held', { group: 'h', delaySeconds: 60 });
    await first.close();
    expect(countOnDisk).toBe(1);

    const seen: string[] = [];
    const second = queue({ persistFile, handler: async (e: SQSEvent) => void seen.push(e.Records[0]!.body) });
    expect(second.pending).toBe(1);
    expect(second.deadLetters).toEqual([{ body: 'poison', error: 'storage down' }]);
    expect(second.deadLetterDetails[0]).toMatchObject({ group: 'g', dedupId: 'e1', receiveCount: 3 });
    await second.close();
  });

  it('refuses a send it cannot keep, and does not deliver it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lq-'));
    writeFileSync(join(dir, 'blocker'), 'a file where the queue directory should be');
    const seen: string[] = [];
    const q = queue({ persistFile: join(dir, 'blocker', 'q.json'), handler: async (e: SQSEvent) => void seen.push(e.Records[0]!.body) });
    expect(() => q.send('lost?', { group: 'g', dedupId: 'x' })).toThrow();
    expect(q.pending).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([]);
    await q.close();
  });
});

describe('redrive (npm run redrive)', () => {
  const failThenWork = () => {
    const state = { down: true, seen: [] as string[] };
    const handler = async (e: SQSEvent) => {
      if (state.down) throw new Error('down');
      state.seen.push(e.Records[0]!.body);
    };
    return { state, handler };
  };

  it('sends dead letters back in order, with a fresh budget, and they are processed', async () => {
    const { state, handler } = failThenWork();
    const q = queue({ retryForMs: 0, handler });
    q.send('a', { group: 'g', dedupId: 'a' });
    q.send('b', { group: 'g', dedupId: 'b' });
    await q.drain();
    expect(q.deadLetters.map((d) => d.body)).toEqual(['a', 'b']);
    state.down = false;
    expect(q.redrive()).toBe(2);
    await q.drain();
    expect(state.seen).toEqual(['a', 'b']);
    expect(q.deadLetters).toEqual([]);
    await q.close();
  });

  it('moves them in the file while the runtime is stopped; the next start delivers them', async () => {
    const persistFile = tmpFile('stopped.fifo');
    const { state, handler } = failThenWork();
    const first = queue({ persistFile, retryForMs: 0, handler });
    first.start();
    first.send('late', { group: 'g' });
    await first.drain();
    await first.close();
    expect(queueIsRunning(persistFile)).toBe(false);

    expect(await redriveQueue(persistFile)).toEqual({ queue: 'stopped.fifo', moved: 1, via: 'file' });
    state.down = false;
    const second = queue({ persistFile, handler });
    expect(second.deadLetters).toEqual([]);
    second.start();
    await second.drain();
    expect(state.seen).toEqual(['late']);
    await second.close();
  });

  it('asks a running queue through a request file, which it answers', async () => {
    const persistFile = tmpFile('running.fifo');
    const { state, handler } = failThenWork();
    const q = queue({ persistFile, retryForMs: 0, handler, redrivePollMs: 10 });
    q.start();
    q.send('m', { group: 'g' });
    await q.drain();
    expect(queueIsRunning(persistFile)).toBe(true);
    state.down = false;
    expect(await redriveQueue(persistFile, { timeoutMs: 5000 })).toEqual({ queue: 'running.fifo', moved: 1, via: 'running' });
    await q.drain();
    expect(state.seen).toEqual(['m']);
    // The running queue kept the file: the moved message is not left behind as a dead letter.
    expect(JSON.parse(readFileSync(persistFile, 'utf8')).deadLetters).toEqual([]);
    await q.close();
    expect(queueIsRunning(persistFile)).toBe(false);
  });

  it('takes a request left while it was stopped at its next start', async () => {
    const persistFile = tmpFile('left.fifo');
    const { state, handler } = failThenWork();
    const first = queue({ persistFile, retryForMs: 0, handler });
    first.send('m', { group: 'g' });
    await first.drain();
    await first.close();
    writeFileSync(redriveFiles(persistFile).request, 'req-1');
    state.down = false;
    const second = queue({ persistFile, handler });
    second.start();
    await second.drain();
    expect(state.seen).toEqual(['m']);
    expect(JSON.parse(readFileSync(redriveFiles(persistFile).done, 'utf8'))).toEqual({ id: 'req-1', moved: 1 });
    await second.close();
  });
});
