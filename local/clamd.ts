import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { logger } from '../shared/logger';
import { builtInScanner, type MalwareScanner, type ScanAnswer } from './malware-scanner';

/**
 * A ClamAV daemon for the local scanner, spoken to directly with clamd's documented protocol
 * (clamd(8): `zPING`, `zINSTREAM` with 4-byte big-endian length-prefixed chunks ended by a zero
 * length; answers `stream: OK`, `stream: <name> FOUND`, `<message> ERROR`), over its TCP or
 * local socket. This is what `clamdscan --stream` does, without needing the binary.
 */
export type ClamdAddress = { host: string; port: number } | { path: string };

export const DEFAULT_CLAMD_CONF = '/etc/clamav/clamd.conf';
const CHUNK = 64 * 1024;

/** Where clamd listens: `CLAMD_HOST`/`CLAMD_PORT`, else `LocalSocket` or `TCPSocket`/`TCPAddr` of clamd.conf; undefined when neither says. */
export function clamdAddress(env: NodeJS.ProcessEnv = process.env, confFile = env.CLAMD_CONF ?? DEFAULT_CLAMD_CONF): ClamdAddress | undefined {
  if (env.CLAMD_HOST || env.CLAMD_PORT) return { host: env.CLAMD_HOST || '127.0.0.1', port: Number(env.CLAMD_PORT || 3310) };
  if (!existsSync(confFile)) return undefined;
  const conf = new Map<string, string>();
  for (const line of readFileSync(confFile, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.+?)\s*$/.exec(line);
    if (m && !line.trimStart().startsWith('#')) conf.set(m[1]!, m[2]!);
  }
  if (conf.get('LocalSocket')) return { path: conf.get('LocalSocket')! };
  if (conf.get('TCPSocket')) return { host: conf.get('TCPAddr') ?? '127.0.0.1', port: Number(conf.get('TCPSocket')) };
  return undefined;
}

/** Sends one command (and its payload) and reads the answer up to clamd's NUL terminator. */
function converse(address: ClamdAddress, send: (socket: Socket) => void, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in address ? connect(address.path) : connect(address.port, address.host);
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`clamd did not answer within ${timeoutMs} ms`)));
    socket.on('connect', () => send(socket));
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      const end = all.indexOf(0);
      if (end >= 0) {
        socket.end();
        resolve(all.subarray(0, end).toString('utf8').trim());
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('clamd closed the connection without an answer')));
  });
}

export async function clamdPing(address: ClamdAddress, timeoutMs = 1000): Promise<boolean> {
  try {
    return (await converse(address, (s) => s.write('zPING\0'), timeoutMs)) === 'PONG';
  } catch {
    return false;
  }
}

/**
 * clamd's answer in GuardDuty's terms: OK → NO_THREATS_FOUND; `<name> FOUND` → THREATS_FOUND,
 * except ClamAV's encrypted-archive heuristics (`Heuristics.Encrypted.*`), which say the file
 * could not be judged → UNSUPPORTED; a size or scan limit → UNSUPPORTED; any other ERROR is
 * thrown (the scan failed: the file stays pending and is tried again).
 */
export function clamdAnswer(reply: string): ScanAnswer {
  const text = reply.replace(/^stream:\s*/, '');
  if (text === 'OK') return { status: 'NO_THREATS_FOUND' };
  const found = /^(.+) FOUND$/.exec(text);
  if (found) return found[1]!.startsWith('Heuristics.Encrypted') ? { status: 'UNSUPPORTED' } : { status: 'THREATS_FOUND', threats: [found[1]!] };
  if (/limit/i.test(text) && /ERROR$/.test(text)) return { status: 'UNSUPPORTED' };
  throw new Error(`clamd: ${reply}`);
}

export function clamdScanner(address: ClamdAddress, timeoutMs = 60_000): MalwareScanner {
  const where = 'path' in address ? address.path : `${address.host}:${address.port}`;
  return {
    name: `clamd at ${where}`,
    scan: async (bytes) =>
      clamdAnswer(
        await converse(
          address,
          (socket) => {
            socket.write('zINSTREAM\0');
            for (let at = 0; at < bytes.length; at += CHUNK) {
              const part = bytes.subarray(at, at + CHUNK);
              const size = Buffer.alloc(4);
              size.writeUInt32BE(part.length);
              socket.write(size);
              socket.write(part);
            }
            socket.write(Buffer.alloc(4));
          },
          timeoutMs,
        ),
      ),
  };
}

/**
 * The engine for each pass: clamd while it answers PING (checked at most every `recheckMs`),
 * else the built-in scanner; a switch either way is logged.
 */
export function scannerChooser(address: ClamdAddress | undefined, recheckMs = 30_000, now = Date.now): () => Promise<MalwareScanner> {
  const builtIn = builtInScanner();
  if (!address) return async () => builtIn;
  const clamd = clamdScanner(address);
  let current: MalwareScanner | undefined;
  let checkedAt = -Infinity;
  return async () => {
    if (current && now() - checkedAt < recheckMs) return current;
    checkedAt = now();
    const next = (await clamdPing(address)) ? clamd : builtIn;
    if (next !== current) logger.info('malware scanner engine', { engine: next.name });
    current = next;
    return current;
  };
}
