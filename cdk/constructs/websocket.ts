import { type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { SatchelFunction } from './satchel-function';

export interface SatchelWebSocketProps {
  /** Handles `$connect`, `$disconnect` and `$default` (functions/socket). */
  readonly routesFn: IFunction;
  /** The `$connect` REQUEST authorizer (functions/socket-authorizer). */
  readonly authorizerFn: IFunction;
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** The stage clients connect to: `wss://{id}.execute-api.{region}.amazonaws.com/live`. */
export const SOCKET_STAGE = 'live';

/**
 * Real-time delivery (SPEC 10): an API Gateway WebSocket API whose `$connect` runs a Lambda
 * REQUEST authorizer (`token` = a web user's session token, `agentToken` = an agent's Cognito
 * JWT, both in the query string), `$disconnect` forgets the connection and `$default` answers
 * pings (its response goes back to the client). The functions that write transcripts push
 * through the Management API; `bindPusher` gives one of them the endpoint and the right to
 * post to this API's connections only.
 */
export class SatchelWebSocket extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  /** What clients connect to (`SOCKET_URL`). */
  readonly url: string;
  /** The Management API endpoint (`SOCKET_ENDPOINT`). */
  readonly managementEndpoint: string;

  constructor(scope: Construct, id: string, props: SatchelWebSocketProps) {
    super(scope, id);
    const routes = new WebSocketLambdaIntegration('SocketRoutes', props.routesFn);
    this.api = new WebSocketApi(this, 'Api', {
      description: 'Satchel real-time delivery to web chats and agent consoles',
      connectRouteOptions: {
        integration: routes,
        // Either credential may be present, so no identity source is required up front;
        // the authorizer itself answers 401 when neither is good. No caching: tokens differ per client.
        authorizer: new WebSocketLambdaAuthorizer('SocketAuthorizer', props.authorizerFn, { identitySource: [] }),
      },
      disconnectRouteOptions: { integration: routes },
      defaultRouteOptions: { integration: routes, returnResponse: true },
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: SOCKET_STAGE,
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // No query string: it carries the tokens.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            eventType: '$context.eventType',
            routeKey: '$context.routeKey',
            status: '$context.status',
            connectionId: '$context.connectionId',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            sourceIp: '$context.identity.sourceIp',
          }),
        ),
      },
    });
    this.url = this.stage.url;
    this.managementEndpoint = this.stage.callbackUrl;

    for (const key of ['$disconnect', '$default']) {
      const route = this.api.node.findChild(`${key}-Route`);
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          `WebSocket route ${key}: API Gateway allows an authorizer on $connect only; every later frame of a connection ` +
          'rides on the connection the $connect Lambda authorizer admitted, and $default only answers ping with pong.',
      });
    }
  }

  /**
   * `SOCKET_ENDPOINT`, with `execute-api:ManageConnections` on this API's stage connections
   * only (PostToConnection).
   */
  bindPusher(fn: SatchelFunction): void {
    fn.withEnvironment({ SOCKET_ENDPOINT: this.managementEndpoint });
    const connections = Stack.of(this).formatArn({ service: 'execute-api', resource: this.api.apiId, resourceName: `${SOCKET_STAGE}/POST/@connections/*` });
    fn.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['execute-api:ManageConnections'], resources: [connections] }));
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${Stack.of(this).getLogicalId(this.api.node.defaultChild as never)}>/${SOCKET_STAGE}/POST/@connections/*]`,
      reason:
        'Connection ids are assigned by API Gateway at run time, one per open chat or console; the grant covers only ' +
        `PostToConnection on the ${SOCKET_STAGE} stage of this one WebSocket API.`,
    });
  }
}
