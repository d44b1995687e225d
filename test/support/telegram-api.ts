import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A local stand-in of the Telegram Bot API (core.telegram.org/bots/api), built from the
 * documented shapes (samples in test/fixtures/telegram/): `/bot<token>/<method>` answers
 * `{ok, result}` or `{ok: false, error_code, description}`, `getFile` gives a `file_path`, and
 * `/file/bot<token>/<file_path>` serves the bytes. Every call is recorded; multipart uploads
 * (sendDocument, sendPhoto) are parsed into their fields and files.
 */

const FIXTURES = fileURLToPath(new URL('../fixtures/telegram/', import.meta.url));

/** A fixture from test/fixtures/telegram, parsed. */
export const telegramFixture = <T = Record<string, unknown>>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;

export interface TelegramCall {
  method: string;
  /** The token the call was made with (the stand-in refuses others with 401). */
  token: string;
  httpMethod: string;
  /** JSON body or query parameters, or the multipart form's text fields. */
  params: Record<string, unknown>;
  /** Files of a multipart upload, by field name. */
  files: Record<string, { fileName: string; contentType: string; size: number; sha256: string }>;
  status: number;
}

export interface StoredFile {
  bytes: Buffer;
  /** Reported by getFile; default the real size. Set it to test the announced-size check. */
  fileSize?: number;
  filePath: string;
  /** Instead of the bytes, redirect the download here (SSRF tests). */
  redirectTo?: string;
  /** Serve the bytes without Content-Length, in chunks (a cap must stop the body as it streams). */
  chunked?: boolean;
}

export interface FakeTelegramApi {
  /** Base URL to use as TELEGRAM_API_URL. */
  url: string;
  /** host:port, for FETCH_ALLOW_HOSTS (file downloads go through the SSRF-safe fetcher). */
  hostPort: string;
  calls: TelegramCall[];
  /** Calls to `method` answered 200. */
  sent(method?: string): TelegramCall[];
  addFile(fileId: string, file: StoredFile): void;
  /** File downloads served (path), in order. */
  downloads: string[];
  /** The next `count` calls of `method` are answered with this status and error. */
  failNext(method: string, status: number, count?: number): void;
  close(): Promise<void>;
}

export async function startTelegramApi(token: string): Promise<FakeTelegramApi> {
  const calls: TelegramCall[] = [];
  const downloads: string[] = [];
  const files = new Map<string, StoredFile>();
  const failures: { method: string; status: number; left: number }[] = [];

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };

    const file = url.pathname.match(/^\/file\/bot([^/]+)\/(.+)$/);
    if (file) {
      if (file[1] !== token) return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
      const path = decodeURIComponent(file[2]!);
      const stored = [...files.values()].find((f) => f.filePath === path);
      if (!stored) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
      downloads.push(path);
      if (stored.redirectTo) {
        res.writeHead(302, { location: stored.redirectTo });
        return res.end();
      }
      if (stored.chunked) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let i = 0; i < stored.bytes.length; i += 8192) res.write(stored.bytes.subarray(i, i + 8192));
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': stored.bytes.length });
      return res.end(stored.bytes);
    }

    const m = url.pathname.match(/^\/bot([^/]+)\/([A-Za-z]+)$/);
    if (!m) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, callToken, method] = m as unknown as [string, string, string];
    const call: TelegramCall = { method, token: callToken, httpMethod: req.method ?? '', params: Object.fromEntries(url.searchParams), files: {}, status: 200 };
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('application/json') && raw.length) call.params = { ...call.params, ...(JSON.parse(raw.toString('utf8')) as object) };
    if (type.startsWith('multipart/form-data')) {
      const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
      for (const [name, value] of form.entries()) {
        if (typeof value === 'string') call.params[name] = value;
        else {
          const bytes = Buffer.from(await value.arrayBuffer());
          call.files[name] = { fileName: value.name, contentType: value.type, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
        }
      }
    }
    calls.push(call);
    const answer = (status: number, body: unknown) => {
      call.status = status;
      reply(status, body);
    };
    if (callToken !== token) return answer(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const failure = failures.find((f) => f.method === method && f.left > 0);
    if (failure) {
      failure.left--;
      return answer(failure.status, { ok: false, error_code: failure.status, description: failure.status === 403 ? 'Forbidden: bot was blocked by the user' : 'Internal Server Error' });
    }
    switch (method) {
      case 'getFile': {
        const stored = files.get(String(call.params.file_id));
        if (!stored) return answer(400, { ok: false, error_code: 400, description: 'Bad Request: invalid file_id' });
        return answer(200, {
          ok: true,
          result: { file_id: call.params.file_id, file_unique_id: `u-${call.params.file_id}`, file_size: stored.fileSize ?? stored.bytes.length, file_path: stored.filePath },
        });
      }
      case 'sendMessage':
      case 'sendDocument':
      case 'sendPhoto':
        if (!call.params.chat_id) return answer(400, { ok: false, error_code: 400, description: 'Bad Request: chat_id is empty' });
        return answer(200, { ok: true, result: { message_id: calls.length, chat: { id: Number(call.params.chat_id), type: 'private' }, date: 0 } });
      case 'answerCallbackQuery':
        return answer(200, { ok: true, result: true });
      default:
        return answer(404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    calls,
    sent: (method) => calls.filter((c) => c.status === 200 && (method === undefined || c.method === method)),
    addFile: (fileId, f) => files.set(fileId, f),
    downloads,
    failNext: (method, status, count = 1) => failures.push({ method, status, left: count }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
