import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One DynamoDB request the proxy passed through (kept only with `capacity: true`). */
export interface CountedRequest {
  /** `GetItem`, `Query`, `BatchGetItem`, ... (the `X-Amz-Target` header's operation). */
  op: string;
  /** The request's JSON body (with the injected `ReturnConsumedCapacity`). */
  body: Record<string, any>;
  /** Capacity units dynalite reports for the table and its indexes (sum over tables), if any. */
  units: number;
}

export interface CountingProxy {
  url: string;
  /** Requests by operation since the last reset. */
  counts: Map<string, number>;
  /** With `capacity: true`, every request since the last reset, in order of arrival of its answer. */
  log: CountedRequest[];
  total(): number;
  reset(): void;
  /** Requests sent on but not yet answered. */
  inFlight(): number;
  /** Resolves once no request has been in flight or arrived for `quietMs`. */
  idle(quietMs?: number, timeoutMs?: number): Promise<void>;
  server: Server;
  close(): Promise<void>;
}

/** The operations that take `ReturnConsumedCapacity`; the table-management ones do not. */
const DATA_OPS = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'BatchGetItem', 'BatchWriteItem', 'TransactGetItems', 'TransactWriteItems']);

const unitsOf = (consumed: unknown): number =>
  [consumed ?? []].flat().reduce((sum: number, c) => sum + Number((c as { CapacityUnits?: number }).CapacityUnits ?? 0), 0);

/**
 * A pass-through HTTP proxy to a real (local) DynamoDB that counts requests by operation (the
 * `X-Amz-Target` header). Point a client's endpoint, or the runtime's DYNAMODB_ENDPOINT, at
 * `url`. With `capacity: true` it also asks for `ReturnConsumedCapacity: INDEXES` on every data
 * request and keeps each request's body and reported capacity units in `log` (dynalite computes
 * them from item sizes as DynamoDB does, for the table and for index reads, not index writes).
 * Answers pass through unchanged either way. Counts only, never timings. `classify` names the
 * operation of other services' requests (S3 has no `X-Amz-Target`); their bodies stream through.
 */
export async function countingProxy(target: string, opts: { capacity?: boolean; classify?: (req: IncomingMessage) => string } = {}): Promise<CountingProxy> {
  const upstream = new URL(target);
  const counts = new Map<string, number>();
  const log: CountedRequest[] = [];
  let pending = 0;
  let lastActivity = Date.now();
  const server = createServer((req, res) => {
    const op = opts.classify?.(req) ?? (String(req.headers['x-amz-target'] ?? '').split('.').pop() || 'unknown');
    counts.set(op, (counts.get(op) ?? 0) + 1);
    pending++;
    lastActivity = Date.now();
    const done = () => {
      pending--;
      lastActivity = Date.now();
    };
    /** Sends the (rewritten) body on and keeps the answer's capacity units. */
    const forward = (body: Buffer) => {
      const headers = { ...req.headers, 'content-length': String(body.length) };
      const out = request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const answer = Buffer.concat(chunks);
          try {
            const parsed = JSON.parse(answer.toString('utf8')) as { ConsumedCapacity?: unknown };
            log.push({ op, body: JSON.parse(body.toString('utf8')) as Record<string, any>, units: unitsOf(parsed.ConsumedCapacity) });
          } catch {
            // Not JSON (an error page): counted, no units.
          }
          res.end(answer);
          done();
        });
      });
      out.on('error', () => {
        done();
        res.destroy();
      });
      out.end(body);
    };
    if (!opts.capacity || !DATA_OPS.has(op)) {
      // Plain pass-through: stream the request on as it comes.
      const headers = req.headers;
      const out = request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        up.on('end', done);
      });
      out.on('error', () => {
        done();
        res.destroy();
      });
      req.pipe(out);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      try {
        const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        body = Buffer.from(JSON.stringify({ ...parsed, ReturnConsumedCapacity: 'INDEXES' }));
      } catch {
        // Not JSON: passed on as it is.
      }
      forward(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    log,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => {
      counts.clear();
      log.length = 0;
    },
    inFlight: () => pending,
    idle: async (quietMs = 50, timeoutMs = 10_000) => {
      const start = Date.now();
      while (pending > 0 || Date.now() - lastActivity < quietMs) {
        if (Date.now() - start > timeoutMs) throw new Error('DynamoDB requests did not settle');
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
