import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request a fixture server received. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface FixtureServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** `127.0.0.1:<port>`, as FETCH_ALLOW_HOSTS spells it. */
  hostPort: string;
  received: ReceivedRequest[];
  /** Resolves when the response to a request was closed, with whether it finished normally. */
  closed: Promise<boolean>[];
  close(): Promise<void>;
}

/** A loopback HTTP server on a random port that records each request before handing it to `handle`. */
export async function startFixtureServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<FixtureServer> {
  const received: ReceivedRequest[] = [];
  const closed: Promise<boolean>[] = [];
  const server = http.createServer((req, res) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    closed.push(new Promise((resolve) => res.on('close', () => resolve(res.writableFinished))));
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hostPort: `127.0.0.1:${port}`,
    received,
    closed,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes `total` bytes of a repeating pattern in `chunk`-sized pieces, honouring backpressure, without allocating per chunk. */
export function streamBytes(res: ServerResponse, total: number, chunk = 64 * 1024): void {
  const piece = Buffer.alloc(chunk, 'satchel-');
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk);
      left -= n;
      if (!res.write(n === chunk ? piece : piece.subarray(0, n))) return void res.once('drain', pump);
    }
    res.end();
  };
  res.on('close', () => (left = 0));
  pump();
}
