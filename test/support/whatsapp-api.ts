import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the parts of Meta's Graph API that the WhatsApp Cloud API channel uses, on
 * loopback, built from the documented shapes (developers.facebook.com/docs/whatsapp/cloud-api/
 * reference/media and .../reference/messages, errors from .../support/error-codes):
 *   GET  /{version}/{media-id}            → {messaging_product, url, mime_type, sha256 (hex), file_size, id}
 *   GET  {url}                            → the media bytes (same bearer token)
 *   POST /{version}/{phoneNumberId}/messages  JSON → {messaging_product, contacts, messages: [{id}]}
 *   POST /{version}/{phoneNumberId}/media     multipart (file, type, messaging_product) → {id}
 * Every call needs `Authorization: Bearer <accessToken>`; a wrong one gets error 190 as Meta
 * answers it. It records what it received.
 */

export interface WhatsAppCall {
  method: string;
  path: string;
  authorization: string | null;
  /** JSON bodies (messages). */
  body?: Record<string, unknown> & {
    to?: string;
    type?: string;
    text?: { body: string };
    interactive?: {
      type: string;
      body: { text: string };
      action: { buttons?: { type: string; reply: { id: string; title: string } }[]; button?: string; sections?: { rows: { id: string; title: string; description?: string }[] }[] };
    };
    document?: { id: string; filename?: string };
    image?: { id: string };
  };
  /** Multipart uploads (media): the text fields and the file. */
  form?: { fields: Record<string, string>; file?: { name: string; type: string; bytes: Buffer } };
  status: number;
}

export interface StoredMedia {
  bytes: Buffer;
  mimeType: string;
  /** What the media endpoint claims; defaults to the real hex digest. */
  sha256?: string;
  /** Where the media endpoint says the bytes are; defaults to this stand-in. */
  url?: string;
}

export interface WhatsAppReply {
  status: number;
  body: unknown;
}

export interface FakeWhatsAppApi {
  /** Base URL to use as WHATSAPP_API_URL (`http://127.0.0.1:<port>/v21.0`). */
  url: string;
  /** `host:port`, for FETCH_ALLOW_HOSTS (the stand-in is on loopback). */
  hostPort: string;
  calls: WhatsAppCall[];
  /** Media kept by id: what users sent (added by tests) and what the service uploaded. */
  media: Map<string, StoredMedia>;
  /** Stores media as if a user had sent it; returns its id. */
  addMedia(media: StoredMedia): string;
  /** `POST …/messages` calls answered 200: what users actually received, in order. */
  delivered(to?: string): WhatsAppCall[];
  /** Decides the answer to a call (`n` counts from 1); undefined = the normal answer. */
  reply?: (call: Omit<WhatsAppCall, 'status'>, n: number) => WhatsAppReply | undefined;
  close(): Promise<void>;
}

/** A Graph API error body, as Meta sends them. */
export const whatsappError = (code: number, message: string, extra: Record<string, unknown> = {}) => ({
  error: { message, type: 'OAuthException', code, ...extra, fbtrace_id: 'A1b2C3d4E5' },
});

const invalidToken = () => whatsappError(190, 'Invalid OAuth access token - Cannot parse access token');
const unknownObject = (id: string) =>
  whatsappError(100, `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, {
    error_subcode: 33,
    type: 'GraphMethodException',
  });

export async function startWhatsAppApi(opts: { accessToken: string; phoneNumberIds: string[] }): Promise<FakeWhatsAppApi> {
  const calls: WhatsAppCall[] = [];
  const media = new Map<string, StoredMedia>();
  let origin = '';
  let counter = 0;
  const newMediaId = () => String(1_000_000_000_000_000n + BigInt(++counter) * 7919n);

  const fake: FakeWhatsAppApi = {
    url: '',
    hostPort: '',
    calls,
    media,
    addMedia: (m) => {
      const id = newMediaId();
      media.set(id, m);
      return id;
    },
    delivered: (to) => calls.filter((c) => c.status === 200 && c.method === 'POST' && c.path.endsWith('/messages') && (to === undefined || c.body?.to === to)),
    close: async () => undefined,
  };

  const answer = (call: Omit<WhatsAppCall, 'status'>): WhatsAppReply | { status: number; raw: Buffer; type: string } => {
    if (call.authorization !== `Bearer ${opts.accessToken}`) return { status: 401, body: invalidToken() };
    const parts = call.path.split('/').filter(Boolean);
    // The bytes behind a media URL.
    if (call.method === 'GET' && parts[0] === 'lookaside' && parts.length === 2) {
      const m = media.get(parts[1]!);
      return m ? { status: 200, raw: m.bytes, type: m.mimeType } : { status: 404, body: unknownObject(parts[1]!) };
    }
    if (parts[0] !== 'v21.0') return { status: 404, body: whatsappError(100, 'Unknown path components') };
    if (call.method === 'GET' && parts.length === 2) {
      const m = media.get(parts[1]!);
      if (!m) return { status: 400, body: unknownObject(parts[1]!) };
      return {
        status: 200,
        body: {
          messaging_product: 'whatsapp',
          url: m.url ?? `${origin}/lookaside/${parts[1]}`,
          mime_type: m.mimeType,
          sha256: m.sha256 ?? createHash('sha256').update(m.bytes).digest('hex'),
          file_size: m.bytes.length,
          id: parts[1],
        },
      };
    }
    if (call.method === 'POST' && parts.length === 3 && (parts[2] === 'messages' || parts[2] === 'media')) {
      if (!opts.phoneNumberIds.includes(parts[1]!)) return { status: 400, body: unknownObject(parts[1]!) };
      if (parts[2] === 'media') {
        const file = call.form?.file;
        if (call.form?.fields.messaging_product !== 'whatsapp') return { status: 400, body: whatsappError(100, 'The parameter messaging_product is required.') };
        if (!file || !file.bytes.length) return { status: 400, body: whatsappError(100, 'The parameter file is required.') };
        const id = fake.addMedia({ bytes: file.bytes, mimeType: call.form.fields.type ?? file.type });
        return { status: 200, body: { id } };
      }
      const body = call.body;
      if (body?.messaging_product !== 'whatsapp' || typeof body.to !== 'string' || typeof body.type !== 'string') {
        return { status: 400, body: whatsappError(100, 'Invalid parameter', { error_data: { messaging_product: 'whatsapp', details: 'missing to, type or messaging_product' } }) };
      }
      for (const kind of ['document', 'image'] as const) {
        const ref = body.type === kind ? body[kind] : undefined;
        if (ref && !media.has(ref.id)) return { status: 400, body: whatsappError(131053, 'Media upload error', { error_data: { messaging_product: 'whatsapp', details: 'Unknown media id' } }) };
      }
      return { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: body.to, wa_id: body.to }], messages: [{ id: `wamid.OUT${randomBytes(8).toString('hex')}` }] } };
    }
    return { status: 400, body: whatsappError(100, 'Unsupported request') };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks);
        const path = new URL(req.url ?? '/', 'http://graph.local').pathname;
        const call: Omit<WhatsAppCall, 'status'> = { method: req.method ?? 'GET', path, authorization: req.headers.authorization ?? null };
        const type = req.headers['content-type'] ?? '';
        if (type.startsWith('application/json')) {
          try {
            call.body = JSON.parse(raw.toString('utf8')) as WhatsAppCall['body'];
          } catch {
            call.body = {};
          }
        } else if (type.startsWith('multipart/form-data')) {
          // The platform's own multipart parser, fed the request as received.
          const form = await new Request('http://graph.local/', { method: 'POST', headers: { 'content-type': type }, body: raw }).formData().catch(() => undefined);
          const fields: Record<string, string> = {};
          let file: NonNullable<WhatsAppCall['form']>['file'];
          for (const [name, value] of form ?? []) {
            if (typeof value === 'string') fields[name] = value;
            else if (name === 'file') file = { name: value.name, type: value.type, bytes: Buffer.from(await value.arrayBuffer()) };
          }
          call.form = { fields, ...(file && { file }) };
        }
        const out = fake.reply?.(call, calls.length + 1) ?? answer(call);
        calls.push({ ...call, status: out.status });
        if ('raw' in out) {
          res.writeHead(out.status, { 'content-type': out.type, 'content-length': out.raw.length });
          res.end(out.raw);
        } else {
          res.writeHead(out.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(out.body));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  fake.url = `${origin}/v21.0`;
  fake.hostPort = `127.0.0.1:${port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
