/**
 * `npm run smoke -- <ApiUrl> [--bot demo] [--timeout 30] [--no-socket]`
 *
 * A post-deploy smoke test (issue 13, point 6): exercises a deployed stack from outside, as a
 * web chat user would, through nothing but its public HTTP API, the S3 upload form it hands
 * out and its WebSocket:
 *
 *   config    GET /web/bots/{bot}/config
 *   session   POST /web/sessions
 *   socket    connect to config.socketUrl with the session token, ping → pong
 *   greeting  the bot's first message arrives (the events queue and the actions function work)
 *   turn      a text message is answered by the bot (a reply or its default answer)
 *   push      that reply also arrived over the socket
 *   upload    a small file through the presigned form, then the message naming it; the file
 *             joins the transcript with a /files link (a user can always get their own file)
 *   download  that /files link → 302 → the presigned S3 URL → the same bytes, as an attachment
 *
 * Prints one line per check (PASS, FAIL with the reason, or SKIP when an earlier check it
 * needs failed) and exits 1 if any check failed, 2 on a usage error. The upload is a real user
 * file: if the bot has a recipientEmail it is emailed there like any other.
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const USAGE = 'usage: npm run smoke -- <ApiUrl> [--bot <botId>] [--timeout <seconds>] [--no-socket]';

interface Options {
  base: URL;
  botId: string;
  timeoutMs: number;
  socket: boolean;
}

interface MessageView {
  id: string;
  from: string;
  text?: string;
  warning?: string;
  fileName?: string;
  attachments?: { id: string; fileName: string; contentType: string; size: number; url: string }[];
}

interface BotConfig {
  botId: string;
  name: string;
  attachments: { allowedTypes: string[]; sizeLimitBytes: number };
  socketUrl?: string;
}

/** A check that cannot go on; its message is the line's reason. */
class CheckFailed extends Error {}
/** A check not run because one it needs failed. */
class Skipped extends Error {}

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      bot: { type: 'string', default: 'demo' },
      timeout: { type: 'string', default: '30' },
      'no-socket': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length !== 1) throw new Error('give the API URL (the ApiUrl output of cdk deploy) and nothing else');
  let base: URL;
  try {
    base = new URL(positionals[0]!);
  } catch {
    throw new Error(`"${positionals[0]}" is not a URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`"${positionals[0]}" is not an http(s) URL`);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const seconds = Number(values.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--timeout must be a positive number of seconds, not "${values.timeout}"`);
  if (!/^[a-z0-9-]{1,40}$/.test(values.bot)) throw new Error(`--bot "${values.bot}" is not a bot id`);
  return { base, botId: values.bot, timeoutMs: seconds * 1000, socket: !values['no-socket'] };
}

const short = (s: string | undefined, max = 60) => (s === undefined ? '' : s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** The first sample the bot accepts: small, valid for the content checks (text is text, a PNG has its magic bytes). */
const SAMPLES: { ext: string; contentType: string; bytes: Buffer }[] = [
  { ext: 'txt', contentType: 'text/plain', bytes: Buffer.from(`Satchel smoke test upload, ${new Date().toISOString()}\n`) },
  {
    ext: 'png',
    contentType: 'image/png',
    bytes: Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64'),
  },
  { ext: 'csv', contentType: 'text/csv', bytes: Buffer.from('check,result\nsmoke,ok\n') },
  { ext: 'pdf', contentType: 'application/pdf', bytes: Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n') },
];

class Smoke {
  private readonly results: { status: 'PASS' | 'FAIL' | 'SKIP'; name: string; detail: string }[] = [];
  private config?: BotConfig;
  private session?: { sessionId: string; token: string };
  private socket?: WebSocket;
  private readonly pushed: MessageView[] = [];
  private transcript: MessageView[] = [];
  private cursor = '0';
  private reply?: MessageView;
  private upload?: { attachment: NonNullable<MessageView['attachments']>[number]; bytes: Buffer };

  constructor(private readonly opts: Options) {}

  async run(): Promise<boolean> {
    await this.check('config', () => this.checkConfig());
    await this.check('session', () => this.checkSession());
    if (this.opts.socket) await this.check('socket', () => this.checkSocket());
    await this.check('greeting', () => this.checkGreeting());
    await this.check('turn', () => this.checkTurn());
    if (this.opts.socket) await this.check('push', () => this.checkPush());
    await this.check('upload', () => this.checkUpload());
    await this.check('download', () => this.checkDownload());
    this.socket?.terminate();
    const failed = this.results.filter((r) => r.status === 'FAIL').length;
    const passed = this.results.filter((r) => r.status === 'PASS').length;
    console.log(failed ? `smoke test FAILED: ${failed} failed, ${passed} passed` : `smoke test passed: ${passed} checks`);
    return failed === 0;
  }

  private async check(name: string, fn: () => Promise<string>): Promise<void> {
    let line: (typeof this.results)[number];
    try {
      line = { status: 'PASS', name, detail: await fn() };
    } catch (err) {
      const status = err instanceof Skipped ? 'SKIP' : 'FAIL';
      const detail = err instanceof CheckFailed || err instanceof Skipped ? err.message : `unexpected error: ${(err as Error).message}`;
      line = { status, name, detail };
    }
    this.results.push(line);
    console.log(`${line.status} ${name}: ${line.detail}`);
  }

  private url(path: string): URL {
    return new URL(path.replace(/^\//, ''), this.opts.base);
  }

  /** One API call; a network failure or an unexpected status is a CheckFailed naming it. */
  private async api<T>(method: 'GET' | 'POST', path: string, expect: number, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.session && path.startsWith('/web/sessions/')) headers.authorization = `Bearer ${this.session.token}`;
    let res: Response;
    try {
      res = await fetch(this.url(path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.opts.timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CheckFailed(`${method} ${this.url(path).href} could not be reached (${cause?.code ?? cause?.message ?? (err as Error).message})`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.status !== expect) {
      const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      const what = error ? `${error.code}: ${error.message}` : json === undefined ? `a non-JSON body "${short(text.trim(), 80)}"` : short(text, 120);
      throw new CheckFailed(`${method} ${path} answered ${res.status} (expected ${expect}), ${what}`);
    }
    if (json === undefined && text) throw new CheckFailed(`${method} ${path} answered ${res.status} with a body that is not JSON`);
    return json as T;
  }

  private needs<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new Skipped(`needs ${what}`);
    return value;
  }

  /** Polls the transcript until `find` matches, within the timeout. */
  private async waitFor<T>(what: string, find: (messages: MessageView[]) => T | undefined): Promise<T> {
    const { sessionId } = this.needs(this.session, 'a session');
    const deadline = Date.now() + this.opts.timeoutMs;
    for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
      const page = await this.api<{ messages: MessageView[]; cursor: string }>('GET', `/web/sessions/${sessionId}/messages?after=${encodeURIComponent(this.cursor)}`, 200);
      this.transcript.push(...page.messages);
      this.cursor = page.cursor ?? this.cursor;
      const found = find(this.transcript);
      if (found !== undefined) return found;
      if (Date.now() + delay > deadline) throw new CheckFailed(`no ${what} within ${this.opts.timeoutMs / 1000} s (is the actions function running? see its logs and the events dead-letter queue)`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private async checkConfig(): Promise<string> {
    const config = await this.api<BotConfig>('GET', `/web/bots/${this.opts.botId}/config`, 200);
    if (config?.botId !== this.opts.botId || !Array.isArray(config.attachments?.allowedTypes)) {
      throw new CheckFailed(`GET /web/bots/${this.opts.botId}/config answered 200 but not with the bot's config`);
    }
    this.config = config;
    return `bot "${config.name}", ${config.attachments.allowedTypes.length} allowed file types${config.socketUrl ? `, socket ${config.socketUrl}` : ', no socketUrl'}`;
  }

  private async checkSession(): Promise<string> {
    this.needs(this.config, 'the bot config');
    const created = await this.api<{ sessionId: string; token: string; expiresAt: string }>('POST', '/web/sessions', 201, { botId: this.opts.botId, userName: 'Smoke test' });
    if (!created?.sessionId || !created.token) throw new CheckFailed('POST /web/sessions answered 201 without a sessionId and token');
    this.session = created;
    return `session ${created.sessionId}, expires ${created.expiresAt}`;
  }

  private async checkSocket(): Promise<string> {
    const { token } = this.needs(this.session, 'a session');
    const socketUrl = this.needs(this.config, 'the bot config').socketUrl;
    if (!socketUrl) throw new CheckFailed('the config has no socketUrl (run with --no-socket if this stack has no WebSocket API)');
    const url = new URL(socketUrl);
    url.searchParams.set('token', token);
    const socket = new WebSocket(url, { handshakeTimeout: this.opts.timeoutMs });
    socket.on('message', (data) => {
      try {
        const frame = JSON.parse(String(data)) as { type?: string; messages?: MessageView[] };
        if (frame.type === 'messages' && Array.isArray(frame.messages)) this.pushed.push(...frame.messages);
      } catch {
        // not JSON: not a frame of ours
      }
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_req, res) => reject(new CheckFailed(`${socketUrl} refused the connection with HTTP ${res.statusCode}`)));
      socket.once('error', (err) => reject(new CheckFailed(`${socketUrl} could not be reached (${err.message})`)));
    });
    this.socket = socket;
    // A later socket error only fails the checks that need the socket (push), never the run.
    socket.on('error', () => undefined);
    const pong = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CheckFailed(`no pong within ${this.opts.timeoutMs / 1000} s`)), this.opts.timeoutMs);
      const onMessage = (data: WebSocket.RawData) => {
        let type: unknown;
        try {
          type = (JSON.parse(String(data)) as { type?: unknown }).type;
        } catch {
          return;
        }
        if (type !== 'pong') return;
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve();
      };
      socket.on('message', onMessage);
      socket.once('close', (code) => reject(new CheckFailed(`the socket closed (${code}) before answering the ping`)));
    });
    socket.send(JSON.stringify({ type: 'ping' }));
    await pong;
    return 'connected with the session token; ping answered with pong';
  }

  private async checkGreeting(): Promise<string> {
    this.needs(this.session, 'a session');
    const greeting = await this.waitFor('greeting from the bot', (all) => all.find((m) => m.from === 'bot'));
    return `the bot said "${short(greeting.text ?? '(a file)')}"`;
  }

  private async checkTurn(): Promise<string> {
    const { sessionId } = this.needs(this.session, 'a session');
    this.needs(this.transcript.find((m) => m.from === 'bot'), 'the greeting');
    await this.api('POST', `/web/sessions/${sessionId}/messages`, 202, { text: 'Smoke test: hello' });
    const mine = await this.waitFor('copy of the text message in the transcript', (all) => all.find((m) => m.from === 'user' && m.text === 'Smoke test: hello'));
    this.reply = await this.waitFor('reply to the text message', (all) => all.find((m) => m.from === 'bot' && Number(m.id) > Number(mine.id)));
    return `the bot answered "${short(this.reply.text ?? '(a file)')}"`;
  }

  private async checkPush(): Promise<string> {
    this.needs(this.socket, 'the socket');
    const reply = this.needs(this.reply, 'the bot reply');
    const deadline = Date.now() + this.opts.timeoutMs;
    while (!this.pushed.some((m) => m.id === reply.id)) {
      if (Date.now() > deadline) throw new CheckFailed(`the reply (message ${reply.id}) did not arrive over the socket within ${this.opts.timeoutMs / 1000} s (${this.pushed.length} messages pushed)`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return `the reply arrived over the socket too (${this.pushed.length} messages pushed)`;
  }

  private async checkUpload(): Promise<string> {
    const { sessionId } = this.needs(this.session, 'a session');
    const { allowedTypes, sizeLimitBytes } = this.needs(this.config, 'the bot config').attachments;
    const sample = SAMPLES.find((s) => allowedTypes.includes(s.ext) && s.bytes.length <= sizeLimitBytes);
    if (!sample) throw new CheckFailed(`the bot allows none of the sample types (${SAMPLES.map((s) => s.ext).join(', ')})`);
    const fileName = `smoke-test.${sample.ext}`;
    const ticket = await this.api<{ uploadId: string; url: string; fields: Record<string, string> }>('POST', `/web/sessions/${sessionId}/uploads`, 201, {
      fileName,
      size: sample.bytes.length,
      contentType: sample.contentType,
    });
    const form = new FormData();
    for (const [k, v] of Object.entries(ticket.fields ?? {})) form.append(k, v);
    form.append('file', new Blob([sample.bytes], { type: sample.contentType }), fileName);
    let stored: Response;
    try {
      stored = await fetch(ticket.url, { method: 'POST', body: form, signal: AbortSignal.timeout(this.opts.timeoutMs) });
    } catch (err) {
      throw new CheckFailed(`the upload form at ${new URL(ticket.url).origin} could not be reached (${(err as Error).message})`);
    }
    if (!stored.ok) throw new CheckFailed(`the storage upload form answered ${stored.status}: ${short((await stored.text()).replace(/\s+/g, ' '), 160)}`);
    await this.api('POST', `/web/sessions/${sessionId}/messages`, 202, { uploadIds: [ticket.uploadId] });
    const outcome = await this.waitFor('the uploaded file in the transcript', (all) =>
      all.find((m) => m.attachments?.some((a) => a.fileName === fileName) || (m.warning && m.fileName === fileName)),
    );
    if (outcome.warning) throw new CheckFailed(`the file was refused after upload: ${outcome.warning}`);
    const attachment = outcome.attachments!.find((a) => a.fileName === fileName)!;
    if (!attachment.url) throw new CheckFailed('the file is in the transcript without a /files link');
    this.upload = { attachment, bytes: sample.bytes };
    return `${fileName} (${sample.bytes.length} B) uploaded through the presigned form and accepted`;
  }

  private async checkDownload(): Promise<string> {
    const { attachment, bytes } = this.needs(this.upload, 'the uploaded file');
    const link = new URL(attachment.url, this.opts.base);
    // With malware scanning on (SPEC 13) the link answers 409 until GuardDuty's verdict: wait for it.
    let first = await fetch(link, { redirect: 'manual', signal: AbortSignal.timeout(this.opts.timeoutMs) });
    let waited = 0;
    for (; first.status === 409 && waited < 120_000; waited += 2000) {
      await new Promise((r) => setTimeout(r, 2000));
      first = await fetch(link, { redirect: 'manual', signal: AbortSignal.timeout(this.opts.timeoutMs) });
    }
    if (first.status === 409) throw new CheckFailed('the file is still waiting for its malware verdict after 2 minutes (see the ScanVerdictOverdue alarm)');
    const location = first.headers.get('location');
    if (first.status !== 302 || !location) throw new CheckFailed(`GET ${link.pathname.slice(0, 16)}… answered ${first.status}, expected a 302 to the file`);
    const file = await fetch(new URL(location, link), { signal: AbortSignal.timeout(this.opts.timeoutMs) });
    if (file.status !== 200) throw new CheckFailed(`the presigned download answered ${file.status}`);
    const got = Buffer.from(await file.arrayBuffer());
    if (!got.equals(bytes)) throw new CheckFailed(`the download has ${got.length} bytes that differ from the ${bytes.length} uploaded`);
    const disposition = file.headers.get('content-disposition') ?? '';
    if (!/^attachment/i.test(disposition)) throw new CheckFailed(`the download is not served as an attachment (Content-Disposition "${disposition}")`);
    return `/files link → ${waited ? `409 while scanned (${waited / 1000} s), then ` : ''}302 → ${got.length} bytes, identical, served as an attachment`;
  }
}

let options: Options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
console.log(`Smoke test of ${options.base.href} with bot "${options.botId}"`);
const ok = await new Smoke(options).run();
process.exit(ok ? 0 : 1);
