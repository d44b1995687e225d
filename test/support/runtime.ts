import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLocal, type LocalOptions, type LocalRuntime } from '../../local/runtime';

/** The whole local runtime on random free ports with a throw-away data directory. */
export async function startTestRuntime(opts: Partial<LocalOptions> & { secrets?: Record<string, string> } = {}): Promise<LocalRuntime & { dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'satchel-rt-'));
  const secretsFile = join(dataDir, 'secrets.json');
  // The demo bot's secrets come from the example file, as on a fresh clone.
  const secrets = opts.secrets ?? (JSON.parse(readFileSync(resolve('secrets.example.json'), 'utf8')) as Record<string, string>);
  writeFileSync(secretsFile, JSON.stringify(secrets));
  const runtime = await startLocal({
    port: 0,
    dataDir,
    botsDir: resolve('bots'),
    secretsFile,
    senderEmail: 'satchel@example.com',
    fetchAllowHosts: '',
    messengerApiUrl: 'http://127.0.0.1:9/graph',
    dynamoPort: 0,
    s3Port: 0,
    sesPort: 0,
    ttlSweepSeconds: 0,
    inMemoryDynamo: true,
    // Retries as before issue 12 unless a test asks otherwise: 50 ms apart, 5 receives, no time budget.
    retryDelayMs: 50,
    maxRetryDelayMs: 50,
    retryForMs: 0,
    // Files are usable at once unless a test turns the malware scan on (test/integration/malware-scan.test.ts does);
    // `npm start` scans by default.
    malwareScan: 'off',
    scanIntervalMs: 50,
    ...opts,
  });
  const stopRuntime = runtime.stop;
  return Object.assign(runtime, {
    dataDir,
    stop: async () => {
      await stopRuntime();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
