import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import ipaddr from 'ipaddr.js';
import { FetchFailure, type FetchFailureReason } from '../domain/errors';
import type { FetchedResponse, Fetcher, FetchOptions } from '../app/ports';
import { allowHosts, type Config } from '../config';

/**
 * An HTTP GET for URLs that come from configuration or from users (Send Attachment
 * endpoints, channel media), safe against SSRF:
 * - http and https only, at most `maxRedirects` redirects, each checked like the first;
 * - the address every connection actually uses must be public unicast. The check sits in
 *   the connection's own `lookup` (and on literal IP hosts, which skip lookup), so a name
 *   that resolves differently the second time (DNS rebinding) cannot slip past it. A
 *   `host:port` in `allowHosts` (FETCH_ALLOW_HOSTS) skips the address check;
 * - connect and total timeouts; a body cap that aborts as soon as it is passed;
 * - caller headers (credentials among them) go only to the origin they were meant for.
 * No connection is reused, so no socket checked for one request serves another.
 */

export { FetchFailure, type FetchFailureReason };

/** The fetcher port's options, plus what only the composition root and tests set. */
export interface SafeFetchOptions extends FetchOptions {
  /** Lower-case `host:port` entries allowed to be non-public (see `allowHosts` in config). */
  allowHosts?: ReadonlySet<string>;
  /** Default 3. */
  maxRedirects?: number;
  /** Aborts the request and the body (failure reason `network_error`). */
  signal?: AbortSignal;
  /** Name resolution, replaceable in tests. Default: `dns.lookup` with `all: true`. */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
}

export type SafeResponse = FetchedResponse;

export const DEFAULT_MAX_REDIRECTS = 3;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_TIMEOUT_MS = 60_000;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** The only caller headers that may follow a redirect to another origin: credentials hide in custom headers too. */
const CROSS_ORIGIN_SAFE_HEADERS = new Set(['accept', 'accept-language', 'user-agent']);

/**
 * The address range of an IP literal as ipaddr.js names it (`unicast` is public space;
 * `loopback`, `private`, `linkLocal` (169.254/16, the metadata service among them),
 * `uniqueLocal`, `carrierGradeNat`, `reserved`, ...), or undefined when `address` is not an IP.
 */
export function addressRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // `process` turns ::ffff:a.b.c.d into a.b.c.d so it is classified as IPv4.
    parsed = ipaddr.process(address);
  } catch {
    return undefined;
  }
  // Deprecated IPv4-compatible IPv6 (::a.b.c.d, i.e. the first 96 bits zero) embeds an IPv4
  // address that ipaddr.js still calls unicast.
  const range = parsed.range();
  if (range === 'unicast' && parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0)) return 'ipv4Compatible';
  return range;
}

/** True when `address` is an IP literal in public unicast space. Mapped/embedded IPv4 forms are refused. */
export function isPublicAddress(address: string): boolean {
  return addressRange(address) === 'unicast';
}

/** `localhost` and names under it resolve to loopback or not at all (RFC 6761): never to a public address. */
const isLocalhostName = (host: string) => /(^|\.)localhost\.?$/i.test(host);

/**
 * What the fetcher is certain to refuse about `url` before resolving any name: not an http(s)
 * URL, credentials in it, a literal IP host that is not public, or `localhost` (always
 * loopback), unless its host:port is in `allowHosts`. A DNS name passes: the fetcher judges
 * the address it resolves to on every connection, which only run time knows (`cdk synth`
 * uses this to warn about endpoints, see cdk/bot-checks.ts).
 */
export function refusedBeforeLookup(url: string, allowHosts: ReadonlySet<string> = new Set()): FetchFailure | undefined {
  try {
    const target = parseTarget(url);
    const allowed = allowHosts.has(hostKey(target));
    checkLiteralHost(target, allowed);
    if (!allowed && isLocalhostName(bareHost(target))) {
      throw new FetchFailure('address_refused', 'localhost resolves to a loopback address, which is not public', hostKey(target));
    }
    return undefined;
  } catch (err) {
    if (err instanceof FetchFailure) return err;
    throw err;
  }
}

/** `host:port` of a URL as FETCH_ALLOW_HOSTS spells it (IPv6 in brackets, default ports filled in). */
export function hostKey(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.hostname.toLowerCase()}:${port}`;
}

const bareHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

const defaultResolve = (hostname: string): Promise<LookupAddress[]> =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

function parseTarget(raw: string | URL): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchFailure('invalid_url', 'not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FetchFailure('scheme_not_allowed', `scheme ${url.protocol} is not allowed`, hostKey(url));
  }
  if (url.username || url.password) throw new FetchFailure('invalid_url', 'credentials in URLs are not allowed', hostKey(url));
  return url;
}

/**
 * Checks the address a connection is about to use. Literal IP hosts are checked here,
 * before connecting; names are checked in the connection's lookup (`guardedLookup`).
 */
function checkLiteralHost(url: URL, allowed: boolean): void {
  const host = bareHost(url);
  if (!allowed && isIP(host) && !isPublicAddress(host)) {
    throw new FetchFailure('address_refused', `the address is not public (${addressRange(host)})`, hostKey(url));
  }
}

function guardedLookup(key: string, allowed: boolean, resolve: (hostname: string) => Promise<LookupAddress[]>): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (all) => {
        const family = options.family === 4 || options.family === 6 ? options.family : undefined;
        const addresses = family ? all.filter((a) => a.family === family) : all;
        if (addresses.length === 0) {
          const err = Object.assign(new Error(`no address for the host`), { code: 'ENOTFOUND' });
          return callback(err, '', 0);
        }
        // A name with any non-public address is refused outright rather than filtered:
        // mixing public and private answers is how rebinding attacks look.
        if (!allowed && addresses.some((a) => !isPublicAddress(a.address))) {
          return callback(new FetchFailure('address_refused', 'the host resolves to an address that is not public', key), '', 0);
        }
        if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };
}

const toFailure = (err: unknown, host: string): FetchFailure =>
  err instanceof FetchFailure ? err : new FetchFailure('network_error', `request failed (${(err as NodeJS.ErrnoException)?.code ?? 'error'})`, host);

/** Caps the body and turns any upstream error into a FetchFailure. */
class BodyGuard extends Transform {
  seen = 0;
  constructor(
    private readonly maxBytes: number,
    private readonly host: string,
    private readonly release: () => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) return done(new FetchFailure('too_large', `the body is larger than ${this.maxBytes} bytes`, this.host));
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.release();
    done();
  }

  override _destroy(err: Error | null, done: (error: Error | null) => void): void {
    this.release();
    done(err);
  }
}

/**
 * GETs `url` under the rules above and resolves with the first non-redirect response
 * (any status: callers decide what a 404 means). Rejects with a FetchFailure.
 */
export async function safeFetch(url: string | URL, options: SafeFetchOptions = {}): Promise<SafeResponse> {
  const {
    headers = {},
    allowHosts = new Set<string>(),
    maxRedirects = DEFAULT_MAX_REDIRECTS,
    connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    maxBytes = Number.POSITIVE_INFINITY,
    signal,
    resolve = defaultResolve,
  } = options;

  let target = parseTarget(url);
  const origin = target.origin;
  const deadline = new Deadline(timeoutMs, signal, hostKey(target));

  try {
    for (let redirects = 0; ; redirects++) {
      const sameOrigin = target.origin === origin;
      const hopHeaders = sameOrigin
        ? headers
        : Object.fromEntries(Object.entries(headers).filter(([k]) => CROSS_ORIGIN_SAFE_HEADERS.has(k.toLowerCase())));
      const res = await requestOnce(target, hopHeaders, allowHosts, connectTimeoutMs, resolve, deadline);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (!REDIRECT_STATUSES.has(status) || !location) {
        const length = Number(res.headers['content-length'] ?? Number.NaN);
        // Known too large up front: fail without reading a byte.
        if (length > maxBytes) {
          res.destroy();
          throw new FetchFailure('too_large', `the body is larger than ${maxBytes} bytes`, hostKey(target));
        }
        return wrapResponse(res, target, maxBytes, deadline);
      }
      res.destroy();
      if (redirects >= maxRedirects) throw new FetchFailure('too_many_redirects', `more than ${maxRedirects} redirects`, hostKey(target));
      let next: URL;
      try {
        next = new URL(location, target);
      } catch {
        throw new FetchFailure('invalid_url', 'redirect to an invalid URL', hostKey(target));
      }
      target = parseTarget(next);
      deadline.host = hostKey(target);
    }
  } catch (err) {
    deadline.clear();
    throw toFailure(err, hostKey(target));
  }
}

/** The total time limit of one fetch, shared by every hop and the body. */
class Deadline {
  private timer: NodeJS.Timeout;
  private onFire?: (err: FetchFailure) => void;
  private fired?: FetchFailure;
  private readonly abortListener?: () => void;

  constructor(
    timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    public host: string,
  ) {
    this.timer = setTimeout(() => this.fire(new FetchFailure('timeout', `no complete response within ${timeoutMs} ms`, this.host)), timeoutMs);
    this.timer.unref?.();
    if (signal) {
      this.abortListener = () => this.fire(new FetchFailure('network_error', 'aborted', this.host));
      if (signal.aborted) this.abortListener();
      else signal.addEventListener('abort', this.abortListener, { once: true });
    }
  }

  private fire(err: FetchFailure): void {
    this.fired ??= err;
    this.onFire?.(err);
  }

  /** Routes the deadline to whatever is in flight now (a request, then the body). */
  watch(onFire: (err: FetchFailure) => void): void {
    this.onFire = onFire;
    if (this.fired) onFire(this.fired);
  }

  clear(): void {
    clearTimeout(this.timer);
    this.onFire = undefined;
    if (this.abortListener) this.signal?.removeEventListener('abort', this.abortListener);
  }
}

function requestOnce(
  url: URL,
  headers: Record<string, string>,
  allowHosts: ReadonlySet<string>,
  connectTimeoutMs: number,
  resolve: (hostname: string) => Promise<LookupAddress[]>,
  deadline: Deadline,
): Promise<IncomingMessage> {
  const key = hostKey(url);
  const allowed = allowHosts.has(key);
  checkLiteralHost(url, allowed);
  const lookup = guardedLookup(key, allowed, resolve);
  // A fresh agent per hop: the guarded lookup runs for this connection and none is reused.
  const agent = url.protocol === 'https:' ? new https.Agent({ keepAlive: false, lookup }) : new http.Agent({ keepAlive: false, lookup });
  const request = url.protocol === 'https:' ? https.request : http.request;

  return new Promise<IncomingMessage>((resolvePromise, reject) => {
    const req = request(url, { method: 'GET', headers, agent, lookup });
    let connectTimer: NodeJS.Timeout | undefined;
    const fail = (err: unknown) => {
      clearTimeout(connectTimer);
      req.destroy();
      reject(toFailure(err, key));
    };
    deadline.watch(fail);
    req.on('socket', (socket: Socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => fail(new FetchFailure('connect_timeout', `no connection within ${connectTimeoutMs} ms`, key)), connectTimeoutMs);
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    req.on('error', fail);
    req.on('response', (res) => {
      clearTimeout(connectTimer);
      resolvePromise(res);
    });
    req.end();
  });
}

function wrapResponse(res: IncomingMessage, url: URL, maxBytes: number, deadline: Deadline): SafeResponse {
  const key = hostKey(url);
  const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
  const contentLength = length !== undefined && Number.isSafeInteger(length) && length >= 0 ? length : undefined;
  const body = new BodyGuard(maxBytes, key, () => {
    deadline.clear();
    res.destroy();
  });
  // Consumers see failures through `pipeline`, async iteration or their own listener; this
  // one only keeps an error that arrives before they attach from crashing the process.
  body.on('error', () => undefined);
  deadline.watch((err) => body.destroy(err));
  res.on('error', (err) => body.destroy(toFailure(err, key)));
  res.on('aborted', () => body.destroy(new FetchFailure('network_error', 'the connection closed before the body was complete', key)));
  res.pipe(body);
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    url,
    contentLength,
    body,
    bytesRead: () => body.seen,
    discard: () => body.destroy(),
  };
}

/** The fetcher port: safeFetch with this deployment's allowlist (FETCH_ALLOW_HOSTS). */
export function ssrfSafeFetcher(config: Pick<Config, 'FETCH_ALLOW_HOSTS'>): Fetcher {
  const allowed = allowHosts(config);
  return (url, options) => safeFetch(url, { ...options, allowHosts: allowed });
}
