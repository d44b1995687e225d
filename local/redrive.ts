/**
 * `npm run redrive [-- <queue name>]`: sends the dead letters of the local queues (under
 * DATA_DIR/queues) back to their queues, as `aws sqs start-message-move-task` does on AWS.
 *
 * Runtime running (a queue's `.pid` file names a live process): the script leaves a redrive
 * request file next to the queue's file; the running queue looks for it every second, moves
 * its dead letters back (they are then delivered at once) and answers in a `.redrive-done`
 * file, which the script waits for. Runtime stopped: the script moves them in the file itself,
 * and the next `npm start` delivers them.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { redriveFiles, redriveQueueFile } from './local-queue';

export interface RedriveResult {
  queue: string;
  moved: number;
  /** `running`: the runtime moved them; `file`: moved in the file of a stopped runtime. */
  via: 'running' | 'file';
}

const isAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Whether a live runtime holds this queue file. */
export function queueIsRunning(persistFile: string): boolean {
  const { pid } = redriveFiles(persistFile);
  return existsSync(pid) && isAlive(Number(readFileSync(pid, 'utf8').trim()));
}

/** Redrives one queue file, through the running runtime when there is one. */
export async function redriveQueue(persistFile: string, opts: { timeoutMs?: number } = {}): Promise<RedriveResult> {
  const queue = persistFile.split('/').pop()!.replace(/\.json$/, '');
  if (!queueIsRunning(persistFile)) return { queue, moved: redriveQueueFile(persistFile), via: 'file' };
  const { request, done } = redriveFiles(persistFile);
  const id = randomUUID();
  rmSync(done, { force: true });
  writeFileSync(request, id);
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (Date.now() < deadline) {
    if (existsSync(done)) {
      const answer = JSON.parse(readFileSync(done, 'utf8')) as { id: string; moved: number };
      if (answer.id === id) {
        rmSync(done, { force: true });
        return { queue, moved: answer.moved, via: 'running' };
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the runtime holding ${queue} did not answer within ${Math.round((opts.timeoutMs ?? 10_000) / 1000)} s; the request stays and is taken at its next start`);
}

/** The queue files under DATA_DIR/queues, or those named. */
export function queueFiles(dataDir: string, names: string[] = []): string[] {
  const dir = join(dataDir, 'queues');
  if (!existsSync(dir)) return [];
  const all = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f));
  if (!names.length) return all;
  return names.map((n) => {
    const file = join(dir, n.endsWith('.json') ? n : `${n}.json`);
    if (!all.includes(file)) throw new Error(`no queue "${n}" in ${dir} (there are: ${all.map((f) => f.split('/').pop()!.replace(/\.json$/, '')).join(', ') || 'none'})`);
    return file;
  });
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]).replace(/\.ts$/, '') === resolve(new URL(import.meta.url).pathname).replace(/\.ts$/, '');
if (isMain) {
  const dataDir = resolve(process.env.DATA_DIR ?? '.satchel');
  try {
    const files = queueFiles(dataDir, process.argv.slice(2));
    if (!files.length) console.log(`No queues in ${join(dataDir, 'queues')}: nothing to redrive.`);
    for (const file of files) {
      const r = await redriveQueue(file);
      console.log(`${r.queue}: ${r.moved} dead letter(s) sent back${r.moved && r.via === 'file' ? ' (delivered when `npm start` runs)' : ''}.`);
    }
  } catch (err) {
    console.error(`Redrive failed: ${(err as Error).message}`);
    process.exit(1);
  }
}
