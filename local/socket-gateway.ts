import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { WebSocketServer, type WebSocket } from 'ws';
import type { SocketEvent, SocketResult } from '../functions/socket/handler';

/** The path the local runtime serves the WebSocket on (SPEC 8), and the stage it stands for. */
export const LOCAL_SOCKET_PATH = '/socket';
const STAGE = 'live';
/** API Gateway's frame size limit. */
const MAX_FRAME_BYTES = 128 * 1024;

/** The two functions behind the WebSocket API, as API Gateway calls them. */
export interface LocalSocketFunctions {
  authorizer: (event: APIGatewayRequestAuthorizerEvent, context: Context) => Promise<APIGatewayAuthorizerResult>;
  routes: (event: SocketEvent, context: Context) => Promise<SocketResult | undefined | void>;
}

interface Connection {
  /** Undefined while the upgrade completes; frames posted meanwhile wait in `queued`. */
  ws?: WebSocket;
  queued: string[];
  context: Record<string, unknown>;
}

const invocation = (fn: string): Context =>
  ({ functionName: `satchel-${fn}`, functionVersion: '$LATEST', awsRequestId: randomUUID(), memoryLimitInMB: '0', invokedFunctionArn: `local:${fn}` }) as unknown as Context;

/**
 * The API Gateway WebSocket API, locally: upgrades on `/socket` run the same `$connect`
 * authorizer and route handler as on AWS (401 when the authorizer throws "Unauthorized", 403
 * on a Deny, the route's own status when it refuses), frames go to `$default` and its answer
 * back to the client, a close runs `$disconnect`. `POST /@connections/{id}` emulates the
 * Management API the pushing functions call (410 GoneException for a connection that is not
 * open), so they push through the same SDK code as on AWS.
 */
export class LocalSocketGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly connections = new Map<string, Connection>();
  private functions?: LocalSocketFunctions;

  /** The handlers are built after the HTTP port is bound; until then upgrades get 503. */
  attach(functions: LocalSocketFunctions): void {
    this.functions = functions;
  }

  /** Ids of the open sockets (tests post frames to them as the Management API would). */
  openConnectionIds(): string[] {
    return [...this.connections.entries()].filter(([, c]) => c.ws).map(([id]) => id);
  }

  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== LOCAL_SOCKET_PATH) return refuse(socket, 404);
    const fns = this.functions;
    if (!fns) return refuse(socket, 503);
    const connectionId = randomBytes(12).toString('base64');
    const query = Object.fromEntries(url.searchParams);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));

    let auth: APIGatewayAuthorizerResult;
    try {
      auth = await fns.authorizer(
        {
          type: 'REQUEST',
          methodArn: `arn:aws:execute-api:local:local:local/${STAGE}/$connect`,
          headers,
          queryStringParameters: query,
          requestContext: { routeKey: '$connect', eventType: 'CONNECT', connectionId, stage: STAGE, apiId: 'local' },
        } as unknown as APIGatewayRequestAuthorizerEvent,
        invocation('socket-authorizer'),
      );
    } catch (err) {
      return refuse(socket, (err as Error).message === 'Unauthorized' ? 401 : 500);
    }
    if (!auth.policyDocument.Statement.every((s) => s.Effect === 'Allow')) return refuse(socket, 403);

    const context = { ...auth.context, principalId: auth.principalId };
    const connection: Connection = { queued: [], context };
    this.connections.set(connectionId, connection);
    const connected = await fns.routes(this.event('$connect', connectionId, context), invocation('socket')).catch((): SocketResult => ({ statusCode: 500 }));
    const status = connected?.statusCode ?? 200;
    if (status < 200 || status > 299) {
      this.connections.delete(connectionId);
      return refuse(socket, status, connected?.body);
    }
    if (socket.destroyed) {
      // The client went away while $connect ran.
      this.connections.delete(connectionId);
      void fns.routes(this.event('$disconnect', connectionId, context), invocation('socket')).catch(() => undefined);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      connection.ws = ws;
      // A frame over the size limit or a broken connection: ws closes the socket; without a
      // listener the 'error' event would be thrown and end the process.
      ws.on('error', () => ws.terminate());
      for (const frame of connection.queued.splice(0)) ws.send(frame);
      ws.on('message', (data, isBinary) => {
        const body = isBinary ? Buffer.from(data as Buffer).toString('base64') : String(data);
        void fns
          .routes({ ...this.event('$default', connectionId, context), body, isBase64Encoded: isBinary }, invocation('socket'))
          .then((answer) => {
            if (answer?.body !== undefined && ws.readyState === ws.OPEN) ws.send(answer.body);
          })
          .catch(() => undefined);
      });
      ws.on('close', () => {
        this.connections.delete(connectionId);
        void fns.routes(this.event('$disconnect', connectionId, context), invocation('socket')).catch(() => undefined);
      });
    });
  }

  /**
   * The Management API: `POST /@connections/{id}` sends the body as one text frame,
   * `DELETE` closes the connection. Only for SDK calls (SigV4-signed): a web page cannot send
   * that header cross-origin without a preflight, which this server never allows.
   */
  async manage(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    let id: string | undefined;
    try {
      id = decodeURIComponent(new URL(`http://localhost${req.url ?? '/'}`).pathname.slice('/@connections/'.length));
    } catch {
      id = undefined;
    }
    if (!/^AWS4-HMAC-SHA256 /.test(req.headers.authorization ?? '')) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Missing Authentication Token' }));
      return;
    }
    const connection = id === undefined ? undefined : this.connections.get(id);
    if (!connection || (connection.ws && connection.ws.readyState !== connection.ws.OPEN)) {
      res.writeHead(410, { 'content-type': 'application/json', 'x-amzn-errortype': 'GoneException' });
      res.end(JSON.stringify({ message: null }));
      return;
    }
    if (req.method === 'POST') {
      const frame = body.toString('utf8');
      if (connection.ws) connection.ws.send(frame);
      else connection.queued.push(frame);
    } else if (req.method === 'DELETE') connection.ws?.close(1000);
    else {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Unsupported method' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  }

  close(): void {
    for (const { ws } of this.connections.values()) ws?.terminate();
    this.connections.clear();
    this.wss.close();
  }

  private event(routeKey: string, connectionId: string, authorizer: Record<string, unknown>): SocketEvent {
    const now = new Date();
    const eventType = routeKey === '$connect' ? 'CONNECT' : routeKey === '$disconnect' ? 'DISCONNECT' : 'MESSAGE';
    return {
      isBase64Encoded: false,
      requestContext: {
        routeKey,
        eventType,
        messageId: randomUUID(),
        extendedRequestId: randomUUID(),
        requestTime: now.toISOString(),
        messageDirection: 'IN',
        stage: STAGE,
        connectedAt: now.getTime(),
        requestTimeEpoch: now.getTime(),
        requestId: randomUUID(),
        domainName: 'localhost',
        connectionId,
        apiId: 'local',
        authorizer,
      },
    } as unknown as SocketEvent;
  }
}

/** Answers an upgrade request with an HTTP status instead of switching protocols. */
function refuse(socket: Duplex, status: number, body?: string): void {
  const text = body ?? JSON.stringify({ message: status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Refused' });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Refused'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 410: 'Gone', 500: 'Internal Server Error', 503: 'Service Unavailable' };
