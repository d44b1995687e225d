import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction, type Socket } from 'node:net';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
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

type Family = 'ipv4' | 'ipv6';

/**
 * The special-purpose address ranges (IANA registries), named and ordered as ipaddr.js 2.5
 * names them; the first range holding an address names it, and an address in none is
 * `unicast` (public). Node's own `net.BlockList` does the matching.
 */
const SPECIAL_RANGES: readonly (readonly [name: string, family: Family, subnets: readonly string[]])[] = [
  ['unspecified', 'ipv4', ['0.0.0.0/8']],
  ['broadcast', 'ipv4', ['255.255.255.255/32']],
  ['multicast', 'ipv4', ['224.0.0.0/4']], // RFC 3171
  ['linkLocal', 'ipv4', ['169.254.0.0/16']], // RFC 3927: the cloud metadata service among them
  ['loopback', 'ipv4', ['127.0.0.0/8']],
  ['carrierGradeNat', 'ipv4', ['100.64.0.0/10']], // RFC 6598
  ['private', 'ipv4', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']], // RFC 1918
  // RFCs 5735, 5737, 2544, 1700
  ['reserved', 'ipv4', ['192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4']],
  ['as112', 'ipv4', ['192.175.48.0/24', '192.31.196.0/24']], // RFC 7534, 7535
  ['amt', 'ipv4', ['192.52.193.0/24']], // RFC 7450
  ['unspecified', 'ipv6', ['::/128']], // RFC 4291, here and after
  ['linkLocal', 'ipv6', ['fe80::/10']],
  ['multicast', 'ipv6', ['ff00::/8']],
  ['loopback', 'ipv6', ['::1/128']],
  ['uniqueLocal', 'ipv6', ['fc00::/7']],
  // (::ffff:0:0/96, IPv4-mapped, never gets here: those are judged as the IPv4 address they carry.)
  ['deprecatedSiteLocal', 'ipv6', ['fec0::/10']], // RFC 3879
  ['discard', 'ipv6', ['100::/64']], // RFC 6666
  ['rfc6145', 'ipv6', ['::ffff:0:0:0/96']],
  ['rfc6052', 'ipv6', ['64:ff9b::/96', '64:ff9b:1::/48']], // NAT64: RFC 6052, 8215
  ['6to4', 'ipv6', ['2002::/16']], // RFC 3056
  ['teredo', 'ipv6', ['2001::/32']], // RFC 6052, 6146
  ['benchmarking', 'ipv6', ['2001:2::/48']], // RFC 5180
  ['amt', 'ipv6', ['2001:3::/32']], // RFC 7450
  ['as112v6', 'ipv6', ['2001:4:112::/48', '2620:4f:8000::/48']], // RFC 7535, 7534
  ['deprecatedOrchid', 'ipv6', ['2001:10::/28']], // RFC 4843
  ['orchid2', 'ipv6', ['2001:20::/28']], // RFC 7343
  ['droneRemoteIdProtocolEntityTags', 'ipv6', ['2001:30::/28']], // RFC 9374
  ['segmentRouting', 'ipv6', ['5f00::/16']], // RFC 9602
  ['reserved', 'ipv6', ['2001::/23', '2001:db8::/32', '3fff::/20']], // RFC 3849, 2928, 9637
  // Deprecated IPv4-compatible IPv6 (::a.b.c.d, the first 96 bits zero; :: and ::1 are named above).
  ['ipv4Compatible', 'ipv6', ['::/96']],
];

const blockList = (family: Family, subnets: readonly string[]): BlockList => {
  const list = new BlockList();
  for (const subnet of subnets) {
    const [network, prefix] = subnet.split('/') as [string, string];
    list.addSubnet(network, Number(prefix), family);
  }
  return list;
};

/** Built on the first address checked, not at cold start. */
let ranges: { v4: [string, BlockList][]; v6: [string, BlockList][]; mapped: BlockList } | undefined;
const specialRanges = () =>
  (ranges ??= {
    v4: SPECIAL_RANGES.filter(([, family]) => family === 'ipv4').map(([name, family, subnets]) => [name, blockList(family, subnets)]),
    v6: SPECIAL_RANGES.filter(([, family]) => family === 'ipv6').map(([name, family, subnets]) => [name, blockList(family, subnets)]),
    mapped: blockList('ipv6', ['::ffff:0:0/96']),
  });

/**
 * The address range of an IP literal (`unicast` is public space; `loopback`, `private`,
 * `linkLocal` (169.254/16, the metadata service among them), `uniqueLocal`,
 * `carrierGradeNat`, `reserved`, ...), or undefined when `address` is not an IP. An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address it carries.
 */
export function addressRange(address: string): string | undefined {
  const bare = address.replace(/%.*$/, ''); // an IPv6 zone (fe80::1%eth0) does not change the range
  const version = isIP(bare);
  if (version === 0) return undefined;
  const { v4, v6, mapped } = specialRanges();
  const family: Family = version === 4 ? 'ipv4' : 'ipv6';
  // A BlockList's IPv4 subnets also hold the IPv4-mapped forms of their addresses.
  const named = family === 'ipv4' || mapped.check(bare, 'ipv6') ? v4 : v6;
  return named.find(([, list]) => list.check(bare, family))?.[0] ?? 'unicast';
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
