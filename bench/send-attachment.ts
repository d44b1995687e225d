/**
 * Send Attachment throughput and memory.
 *
 * Streams documents of each size (default 100 MB and 500 MB; `BENCH_SIZES_MB=50,200` to
 * change) from a loopback document server through the real action — SSRF-safe fetch,
 * lib-storage multipart upload — into s3rver, with dynalite for records. The emulators run
 * in a child process so the figures are the action's own. Memory is sampled every 5 ms.
 *
 * The caller sets LOG_LEVEL before importing this module (the logger reads it at import).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { printTable } from './table';

const MB = 1024 * 1024;
const TOKEN = 'Bearer bench-token';

export async function benchSendAttachment(): Promise<void> {
  const { runFlowEvent } = await import('../shared/app/run-flow');
  const { createWebSession } = await import('../shared/app/web-channel');
  const { freshDeps, testBot } = await import('../test/support/emulators');
  const { startEmulatorsInChildProcess } = await import('../test/support/emulator-process');
  const { startFixtureServer, streamBytes } = await import('../test/support/fixture-server');

  const sizes = (process.env.BENCH_SIZES_MB ?? '100,500').split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isFinite(n) || n <= 0)) throw new Error('BENCH_SIZES_MB must be a comma-separated list of sizes in MB');

  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

  const emu = await startEmulatorsInChildProcess();
  const docs = await startFixtureServer((req, res) => {
    if (req.headers.authorization !== TOKEN) return void res.writeHead(401).end();
    const bytes = Number(new URL(req.url ?? '/', 'http://docs').searchParams.get('bytes'));
    res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': String(bytes) });
    streamBytes(res, bytes);
  });

  const rows: string[][] = [['size', 'time', 'throughput', 'peak RSS (+growth)', 'peak heapUsed (+growth)', 'peak heap+buffers (+growth)']];
  try {
    for (const sizeMb of sizes) {
      const bytes = Math.round(sizeMb * MB);
      const bot = testBot({
        id: 'bench',
        attachments: { sizeLimitBytes: bytes },
        start: 'send',
        interactions: {
          send: {
            type: 'action',
            action: { type: 'sendAttachment', endpoint: `${docs.url}/doc.pdf?bytes=${bytes}`, authorization: { secret: 'docs' } },
            next: 'done',
            onError: 'failed',
          },
          done: { type: 'message', text: 'done' },
          failed: { type: 'message', text: 'failed' },
        },
      });
      const deps = await freshDeps(emu, { bots: [bot], secrets: { docs: TOKEN }, config: { FETCH_ALLOW_HOSTS: docs.hostPort } });
      const { sessionId } = await createWebSession(deps, { botId: 'bench' });

      gc();
      const base = process.memoryUsage();
      const peak = { rss: base.rss, heapUsed: base.heapUsed, held: base.heapUsed + base.arrayBuffers };
      const sample = () => {
        const m = process.memoryUsage();
        peak.rss = Math.max(peak.rss, m.rss);
        peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
        peak.held = Math.max(peak.held, m.heapUsed + m.arrayBuffers);
      };
      const sampler = setInterval(sample, 5);
      const started = performance.now();
      try {
        await deps.queue.drainInto((e) => runFlowEvent(deps, e));
      } finally {
        clearInterval(sampler);
      }
      sample();
      const seconds = (performance.now() - started) / 1000;
      const messages = await deps.sessions.listMessages(sessionId);
      const stored = messages.flatMap((m) => m.attachments ?? [])[0];
      if (stored?.size !== bytes) throw new Error(`the ${sizeMb} MB run did not store the whole file (${JSON.stringify(messages.map((m) => m.text))})`);

      rows.push([
        `${sizeMb} MB`,
        `${seconds.toFixed(2)} s`,
        `${(bytes / MB / seconds).toFixed(0)} MB/s`,
        `${mb(peak.rss)} (+${mb(peak.rss - base.rss)})`,
        `${mb(peak.heapUsed)} (+${mb(peak.heapUsed - base.heapUsed)})`,
        `${mb(peak.held)} (+${mb(peak.held - base.heapUsed - base.arrayBuffers)})`,
      ]);
      await deps.files.deletePrefix(`sessions/${sessionId}/`);
    }
  } finally {
    await docs.close();
    await emu.close();
  }

  console.log(`\nSend Attachment: loopback HTTP → action → s3rver (Node ${process.version}, ${process.arch})\n`);
  printTable(rows);
  console.log('\nGrowth is over a GC-settled baseline; buffers are Node Buffer memory (arrayBuffers). The file is never held whole.');
}
