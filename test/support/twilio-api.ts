import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A local stand-in of Twilio's Messages API and media URLs, built from the documented shapes
 * (samples in test/fixtures/twilio/):
 * - `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic auth (SID : auth
 *   token) and form parameters `To`, `From`, `Body`, `MediaUrl`; answers `201` with a message
 *   resource, or `{code, message, more_info, status}`. Like Twilio, it fetches each `MediaUrl`
 *   (following redirects) and records what it got.
 * - `GET /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{MediaSid}`: the bytes
 *   of an incoming MMS's media, behind the same Basic auth.
 */

const FIXTURES = fileURLToPath(new URL('../fixtures/twilio/', import.meta.url));

/** A fixture from test/fixtures/twilio, as text. */
export const twilioFixtureText = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
/** A form fixture (`*.form`) as its parameters, in order. */
export const twilioForm = (name: string): [string, string][] => [...new URLSearchParams(twilioFixtureText(name)).entries()];

export interface FetchedMedia {
  status: number;
  contentType?: string;
  size: number;
  sha256: string;
}

export interface SentMessage {
  accountSid: string;
  to: string;
  from: string;
  body: string;
  mediaUrls: string[];
  /** What fetching each MediaUrl gave (as Twilio fetches it), in order. */
  media: FetchedMedia[];
}

export interface ApiCall {
  path: string;
  status: number;
  /** The Basic credentials given, decoded (`sid:token`), or undefined. */
  credentials?: string;
  params: Record<string, string[]>;
}

export interface StoredMedia {
  bytes: Buffer;
  contentType: string;
  /** Instead of the bytes, redirect here (SSRF tests). */
  redirectTo?: string;
}

export interface FakeTwilioApi {
  /** Base URL to use as TWILIO_API_URL. */
  url: string;
  /** host:port, for FETCH_ALLOW_HOSTS (media downloads go through the SSRF-safe fetcher). */
  hostPort: string;
  calls: ApiCall[];
  /** Messages accepted (201), in order. */
  messages: SentMessage[];
  /** Adds an incoming MMS's media; returns its MediaUrl. */
  addMedia(accountSid: string, messageSid: string, media: StoredMedia): string;
  /** Media downloads: path and whether they carried the right credentials. */
  downloads: { path: string; authorized: boolean }[];
  /** The next `count` Messages API calls are answered with this status and Twilio error code. */
  failNext(status: number, code: number, count?: number): void;
  close(): Promise<void>;
}

const hex = (n: number) => randomBytes(n).toString('hex');
export const newSid = (prefix: string): string => `${prefix}${hex(16)}`;

export async function startTwilioApi(accounts: Record<string, string>): Promise<FakeTwilioApi> {
  const calls: ApiCall[] = [];
  const messages: SentMessage[] = [];
  const downloads: { path: string; authorized: boolean }[] = [];
  const media = new Map<string, StoredMedia>();
  const failures: { status: number; code: number; left: number }[] = [];
  const created = JSON.parse(twilioFixtureText('message-created.json')) as Record<string, unknown>;
  // Errors take the documented shape of the sample: code, message, more_info, status.
  const errorShape = JSON.parse(twilioFixtureText('error-invalid-to.json')) as Record<string, unknown>;

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const error = (status: number, code: number, message: string) =>
      reply(status, { ...errorShape, code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
    const credentials = req.headers.authorization?.match(/^Basic\s+(\S+)$/i)?.[1];
    const decoded = credentials ? Buffer.from(credentials, 'base64').toString('utf8') : undefined;
    const authorizedFor = (sid: string) => decoded !== undefined && accounts[sid] !== undefined && decoded === `${sid}:${accounts[sid]}`;

    const mediaPath = url.pathname.match(/^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/Messages\/([A-Z]{2}[0-9a-f]{32})\/Media\/(ME[0-9a-f]{32})$/);
    if (req.method === 'GET' && mediaPath) {
      const authorized = authorizedFor(mediaPath[1]!);
      downloads.push({ path: url.pathname, authorized });
      if (!authorized) return error(401, 20003, 'Authenticate');
      const stored = media.get(url.pathname);
      if (!stored) return error(404, 20404, 'The requested resource was not found');
      if (stored.redirectTo) {
        res.writeHead(307, { location: stored.redirectTo });
        return void res.end();
      }
      res.writeHead(200, { 'content-type': stored.contentType, 'content-length': stored.bytes.length });
      return void res.end(stored.bytes);
    }

    const create = url.pathname.match(/^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/Messages\.json$/);
    if (req.method === 'POST' && create) {
      const sid = create[1]!;
      const params: Record<string, string[]> = {};
      for (const [k, v] of new URLSearchParams(raw)) (params[k] ??= []).push(v);
      const call: ApiCall = { path: url.pathname, status: 0, ...(decoded !== undefined && { credentials: decoded }), params };
      calls.push(call);
      const answer = (status: number, body: unknown) => {
        call.status = status;
        reply(status, body);
      };
      const fail = (status: number, code: number, message: string) => {
        call.status = status;
        error(status, code, message);
      };
      if (!authorizedFor(sid)) return fail(401, 20003, 'Authenticate');
      const failure = failures.find((f) => f.left > 0);
      if (failure) {
        failure.left--;
        return fail(failure.status, failure.code, failure.code === 21610 ? 'Attempt to send to unsubscribed recipient' : 'Internal Server Error');
      }
      if (!/^application\/x-www-form-urlencoded\b/.test(req.headers['content-type'] ?? '')) return fail(400, 20001, 'Unsupported content type');
      const to = params.To?.[0];
      const from = params.From?.[0];
      const body = params.Body?.[0] ?? '';
      const mediaUrls = params.MediaUrl ?? [];
      if (!to || !/^\+[1-9]\d{1,14}$/.test(to)) return fail(400, 21211, `Invalid 'To' Phone Number: ${to ?? ''}`);
      if (!from) return fail(400, 21603, "A 'From' phone number is required.");
      if (!body && !mediaUrls.length) return fail(400, 21602, 'Message body is required.');
      if (body.length > 1600) return fail(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
      if (mediaUrls.length > 10) return fail(400, 21623, 'Too many media URLs.');
      for (const m of mediaUrls) if (!/^https?:\/\//.test(m)) return fail(400, 21620, `Invalid media URL(s): ${m}`);
      // Twilio downloads the media to send it: do the same, so a test sees the link works.
      const fetched: FetchedMedia[] = [];
      for (const m of mediaUrls) {
        try {
          const r = await fetch(m, { redirect: 'follow' });
          const bytes = Buffer.from(await r.arrayBuffer());
          fetched.push({ status: r.status, contentType: r.headers.get('content-type') ?? undefined, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
        } catch {
          fetched.push({ status: 0, size: 0, sha256: '' });
        }
      }
      messages.push({ accountSid: sid, to, from, body, mediaUrls, media: fetched });
      const messageSid = newSid(mediaUrls.length ? 'MM' : 'SM');
      return answer(201, {
        ...created,
        account_sid: sid,
        body,
        from,
        to,
        num_media: String(mediaUrls.length),
        sid: messageSid,
        uri: `/2010-04-01/Accounts/${sid}/Messages/${messageSid}.json`,
        subresource_uris: { media: `/2010-04-01/Accounts/${sid}/Messages/${messageSid}/Media.json` },
      });
    }
    error(404, 20404, 'The requested resource was not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    hostPort: `127.0.0.1:${port}`,
    calls,
    messages,
    addMedia: (accountSid, messageSid, m) => {
      const path = `/2010-04-01/Accounts/${accountSid}/Messages/${messageSid}/Media/${newSid('ME')}`;
      media.set(path, m);
      return `${base}${path}`;
    },
    downloads,
    failNext: (status, code, count = 1) => failures.push({ status, code, left: count }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
