import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { SocketPoster } from '../app/ports';
import type { Config } from '../config';
import { endpointCredentials, LOCAL_CREDENTIALS, SDK_TIMEOUTS } from './clients';

/**
 * Frames to WebSocket connections through the API Gateway Management API
 * (`POST {SOCKET_ENDPOINT}/@connections/{id}`). On AWS the endpoint is the WebSocket API's
 * stage; locally the runtime's emulation of the same API on PORT, so the same code pushes.
 */
export class ManagementApiPoster implements SocketPoster {
  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  async post(connectionId: string, frame: unknown): Promise<'sent' | 'gone'> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(frame), 'utf8') }));
      return 'sent';
    } catch (err) {
      // 410: the client went away without a $disconnect reaching us yet.
      if (err instanceof GoneException || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410) return 'gone';
      throw err;
    }
  }
}

/** The Management API client for this deployment's WebSocket API; fixed credentials for the local emulation. */
export function managementApiPoster(config: { SOCKET_ENDPOINT: string } & Pick<Config, 'AWS_REGION'>): SocketPoster {
  const local = /^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(config.SOCKET_ENDPOINT);
  return new ManagementApiPoster(
    new ApiGatewayManagementApiClient({
      region: config.AWS_REGION,
      endpoint: config.SOCKET_ENDPOINT,
      requestHandler: SDK_TIMEOUTS.other,
      ...(local && endpointCredentials(LOCAL_CREDENTIALS)),
    }),
  );
}
