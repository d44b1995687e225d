import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Send API call as the fake Graph API received it. */
export interface GraphCall {
  path: string;
  accessToken: string | null;
  body: {
    recipient?: { id?: string };
    messaging_type?: string;
    message?: {
      text?: string;
      quick_replies?: { content_type: string; title: string; payload: string }[];
      attachment?: { type: string; payload: { url: string; is_reusable: boolean } };
    };
  };
  /** The status the fake answered with. */
  status: number;
}

export interface GraphReply {
  status: number;
  body: unknown;
}

export interface FakeGraphApi {
  /** Base URL to use as MESSENGER_API_URL (`http://127.0.0.1:<port>/v21.0`). */
  url: string;
  calls: GraphCall[];
  /** Calls answered 200: what the user actually received, in order. */
  delivered(): GraphCall[];
  /**
   * Decides the answer to each call (`n` counts calls from 1); undefined = 200 with a
   * message id. Tests use it to make the Send API fail.
   */
  reply?: (call: Omit<GraphCall, 'status'>, n: number) => GraphReply | undefined;
  close(): Promise<void>;
}

/** A stand-in for the Graph API's `POST /me/messages` on loopback that records every call. */
export async function startGraphApi(): Promise<FakeGraphApi> {
  const calls: GraphCall[] = [];
  const fake: FakeGraphApi = {
    url: '',
    calls,
    delivered: () => calls.filter((c) => c.status === 200),
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://graph.local');
      let body: GraphCall['body'] = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as GraphCall['body'];
      } catch {
        // recorded as an empty body; the test will notice
      }
      const call = { path: `${req.method} ${url.pathname}`, accessToken: url.searchParams.get('access_token'), body };
      const answer = fake.reply?.(call, calls.length + 1) ?? {
        status: 200,
        body: { recipient_id: body.recipient?.id, message_id: `m_out_${calls.length + 1}` },
      };
      calls.push({ ...call, status: answer.status });
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}/v21.0`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

/** A Graph API error body, as Meta sends them. */
export const graphError = (code: number, message = 'error', subcode?: number) => ({
  error: { message, type: 'OAuthException', code, ...(subcode !== undefined && { error_subcode: subcode }), fbtrace_id: 'AbCdEf' },
});
