import { describe, expect, it } from 'vitest';
import type { SQSEvent } from 'aws-lambda';
import { TokenSigner } from '../../shared/domain/tokens';
import { LocalQueue } from '../../local/local-queue';
import { matchRoute, routes } from '../../shared/http/routes';

describe('TokenSigner', () => {
  const signer = new TokenSigner('k1');
  it('round-trips signed data', () => {
    expect(signer.verify('st', signer.sign('st', { sid: 'abc' }))).toEqual({ sid: 'abc' });
  });
  it('refuses a token of another kind, another key, or altered', () => {
    const token = signer.sign('st', { sid: 'abc' });
    expect(signer.verify('ft', token)).toBeUndefined();
    expect(new TokenSigner('k2').verify('st', token)).toBeUndefined();
    const [kind, payload, sig] = token.split('.');
    const forged = `${kind}.${Buffer.from(JSON.stringify({ sid: 'other' })).toString('base64url')}.${sig}`;
    expect(signer.verify('st', forged)).toBeUndefined();
    expect(signer.verify('st', `${kind}.${payload}.${sig!.slice(0, -2)}`)).toBeUndefined();
    expect(signer.verify('st', undefined)).toBeUndefined();
    expect(signer.verify('st', 'garbage')).toBeUndefined();
  });
});

describe('route table', () => {
  it('matches path parameters and nothing else', () => {
    expect(matchRoute('GET', '/web/sessions/abc/messages')?.pathParameters).toEqual({ sessionId: 'abc' });
    expect(matchRoute('GET', '/web/sessions//messages')).toBeUndefined();
    expect(matchRoute('DELETE', '/web/sessions')).toBeUndefined();
    expect(new Set(routes.map((r) => `${r.method} ${r.path}`)).size).toBe(routes.length);
  });
});

describe('LocalQueue (SQS FIFO stand-in)', () => {
  it('delivers in order per group, retries failures and dead-letters after maxReceiveCount', async () => {
    const seen: string[] = [];
    let failuresLeft = 2;
    const queue = new LocalQueue({
      name: 'q.fifo',
      fifo: true,
      maxReceiveCount: 3,
      retryDelayMs: 5,
      handler: async (e: SQSEvent) => {
        const body = e.Records[0]!.body;
        if (body === 'a2' && failuresLeft-- > 0) throw new Error('boom');
        if (body === 'poison') return { batchItemFailures: [{ itemIdentifier: e.Records[0]!.messageId }] };
        seen.push(body);
      },
    });
    for (const b of ['a1', 'a2', 'a3']) queue.send(b, { group: 'a', dedupId: b });
    queue.send('poison', { group: 'p', dedupId: 'poison' });
    queue.send('a1', { group: 'a', dedupId: 'a1' }); // duplicate id: dropped
    await queue.drain();
    expect(seen).toEqual(['a1', 'a2', 'a3']);
    expect(queue.deadLetters).toEqual([{ body: 'poison', error: 'reported as a batch item failure' }]);
    await queue.close();
  });

  it('keeps queued messages across a restart when given a file, and delivers them once started', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const persistFile = join(mkdtempSync(join(tmpdir(), 'q-')), 'q.json');
    const first = new LocalQueue({ name: 'q', fifo: true, maxReceiveCount: 2, retryDelayMs: 5, persistFile, handler: async () => { throw new Error('down'); } });
    first.send('held', { group: 'g', delaySeconds: 60 });
    await first.close();

    const seen: string[] = [];
    const second = new LocalQueue({ name: 'q', fifo: true, maxReceiveCount: 2, retryDelayMs: 5, persistFile, handler: async (e: SQSEvent) => void seen.push(e.Records[0]!.body) });
    expect(second.pending).toBe(1);
    expect(seen).toEqual([]); // nothing runs before start()
    second.send('later', { group: 'g' });
    second.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([]); // the held message still waits its delay, and FIFO order keeps 'later' behind it
    await second.close();

    const raw = JSON.parse((await import('node:fs')).readFileSync(persistFile, 'utf8'));
    expect(raw.messages.map((m: { body: string }) => m.body)).toEqual(['held', 'later']);
  });

  it('holds delayed messages', async () => {
    const at: number[] = [];
    const queue = new LocalQueue({ name: 'q', fifo: false, maxReceiveCount: 1, retryDelayMs: 5, handler: async () => void at.push(Date.now()) });
    const start = Date.now();
    queue.send('x', { delaySeconds: 0.2 });
    await queue.drain();
    expect(at[0]! - start).toBeGreaterThanOrEqual(190);
    await queue.close();
  });
});
