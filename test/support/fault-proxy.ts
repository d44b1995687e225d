import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** How a fault proxy treats connections: pass them through, refuse them, or accept and never answer. */
export type FaultMode = 'up' | 'refuse' | 'hang' | 'blackhole';

export interface FaultProxy {
  /** Point a client, or the runtime's DYNAMODB_ENDPOINT / S3_ENDPOINT / SES_ENDPOINT, here. */
  url: string;
  port: number;
  mode(): FaultMode;
  /**
   * Switches the proxy. `refuse` stops listening (new connections get ECONNREFUSED, as from a
   * server that is down) and cuts every open connection; `hang` keeps listening but holds new
   * connections without passing a byte on, and cuts the open ones; `blackhole` is `hang` whose
   * held connections stay silent and open for good, even after the server is back (a dead route:
   * only the client's own timeout ends them); `up` passes through again on the same port.
   */
  set(mode: FaultMode): Promise<void>;
  /** Takes the server away for `ms`, then brings it back. */
  outage(ms: number, mode?: Exclude<FaultMode, 'up'>): Promise<void>;
  /** Connections accepted since the start (passed through or held). */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A TCP pass-through proxy in front of a server (dynalite, s3rver, aws-ses-v2-local) that can
 * be switched off and on, for fault tests: the code under test sees the server go away (refused
 * or hanging connections) and come back on the same address. Protocol-blind: bytes are piped.
 */
export async function faultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const open = new Set<Socket>();
  /** Connections accepted during a `blackhole`: never answered and never closed, as behind a dead route. */
  const lost = new Set<Socket>();
  let current: FaultMode = 'up';
  let accepted = 0;
  let listening = false;

  const server: Server = createServer((client) => {
    accepted++;
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    if (current === 'blackhole') {
      open.delete(client);
      lost.add(client);
      client.on('close', () => lost.delete(client));
      return;
    }
    if (current !== 'up') return; // hang: held open, never answered (cut when the server comes back)
    const out = connect({ host: upstream.hostname, port: Number(upstream.port) });
    open.add(out);
    out.on('close', () => {
      open.delete(out);
      client.destroy();
    });
    out.on('error', () => client.destroy());
    client.on('close', () => out.destroy());
    client.pipe(out);
    out.pipe(client);
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        listening = true;
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
    });
  const cutAll = () => {
    for (const s of open) s.destroy();
    open.clear();
  };

  await listen(0);
  const { port } = server.address() as AddressInfo;

  const set = async (mode: FaultMode) => {
    if (mode === current) return;
    current = mode;
    cutAll();
    if (mode === 'refuse') {
      const closed = stopListening();
      cutAll();
      await closed;
    } else if (!listening) await listen(port);
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    mode: () => current,
    set,
    outage: async (ms, mode = 'refuse') => {
      await set(mode);
      await new Promise((r) => setTimeout(r, ms));
      await set('up');
    },
    connections: () => accepted,
    close: async () => {
      current = 'refuse';
      const closed = stopListening();
      cutAll();
      for (const s of lost) s.destroy();
      lost.clear();
      await closed;
    },
  };
}
