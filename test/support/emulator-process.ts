import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestEmulators } from './emulators';

/**
 * The test emulators in a child process (see emulators-child.ts), so that memory measured
 * in this process is the code under test, not dynalite's or s3rver's.
 */
export async function startEmulatorsInChildProcess(opts: { ses?: boolean } = {}): Promise<TestEmulators> {
  const script = fileURLToPath(new URL('./emulators-child.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...(opts.ses ? ['--ses'] : [])], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'SILENT' } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator process exited with ${code}`)));
  });
  const { dynamo, s3, ses, dir } = JSON.parse(first) as { dynamo: string; s3: string; ses: string; dir: string };
  const emulator = (url: string) => ({ url, port: Number(new URL(url).port), close: async () => undefined });
  return {
    dynamo: emulator(dynamo),
    s3: emulator(s3),
    ses: emulator(ses),
    dir,
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
