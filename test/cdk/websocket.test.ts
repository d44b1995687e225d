import { beforeAll, describe, expect, it } from 'vitest';
import { SOCKET_STAGE } from '../../cdk/constructs/websocket';
import type { SatchelFunctionName } from '../../cdk/satchel-stack';
import { flatten, functionProps, logicalId, statementsOf, SYNTH_TIMEOUT, type Synthesized, synthSatchel } from './synth';

let s: Synthesized;
beforeAll(() => {
  s = synthSatchel();
}, SYNTH_TIMEOUT);

type Resource = { Type: string; Properties: Record<string, any> };
const resources = () => Object.entries(s.template.toJSON().Resources as Record<string, Resource>);
const ofType = (type: string) => resources().filter(([, r]) => r.Type === type);
const apiRef = () => ({ Ref: logicalId(s.stack.webSocket.api) });

describe('WebSocket API (SPEC 10)', () => {
  it('is a WebSocket API with $connect, $disconnect and $default routes', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
    const routes = ofType('AWS::ApiGatewayV2::Route').filter(([, r]) => JSON.stringify(r.Properties.ApiId) === JSON.stringify(apiRef()));
    expect(routes.map(([, r]) => r.Properties.RouteKey).sort()).toEqual(['$connect', '$default', '$disconnect']);
    // Only $connect is authorized (API Gateway allows no other), with the Lambda authorizer.
    const byKey = Object.fromEntries(routes.map(([, r]) => [r.Properties.RouteKey, r.Properties]));
    expect(byKey.$connect.AuthorizationType).toBe('CUSTOM');
    expect(byKey.$connect.AuthorizerId).toBeDefined();
    expect(byKey.$disconnect.AuthorizationType ?? 'NONE').toBe('NONE');
    // $default returns its answer (pong) to the client.
    expect(byKey.$default.RouteResponseSelectionExpression).toBe('$default');
    s.template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', { ApiId: apiRef(), RouteResponseKey: '$default' });
  });

  it('authorizes $connect with a REQUEST Lambda authorizer (the socket-authorizer function), not cached', () => {
    const authorizers = ofType('AWS::ApiGatewayV2::Authorizer').filter(([, r]) => JSON.stringify(r.Properties.ApiId) === JSON.stringify(apiRef()));
    expect(authorizers.length).toBe(1);
    const authorizer = authorizers[0]![1];
    expect(authorizer.Properties.AuthorizerType).toBe('REQUEST');
    // Either `token` or `agentToken` may be present, so no identity source is required up front.
    expect(authorizer.Properties.IdentitySource ?? []).toEqual([]);
    expect(flatten(authorizer.Properties.AuthorizerUri)).toContain(logicalId(s.stack.functions['socket-authorizer'].fn));
    // The authorizer verifies agents' JWTs against this user pool and app client, and session tokens with the signing key.
    const env = functionProps(s, 'socket-authorizer').Environment.Variables;
    expect(flatten(env.AGENT_JWT_ISSUER)).toContain(logicalId(s.stack.auth.userPool));
    expect(env.COGNITO_CLIENT_ID).toEqual({ Ref: logicalId(s.stack.auth.client) });
    expect(env.SIGNING_KEY_SECRET).toEqual({ Ref: logicalId(s.stack.signingKey) });
    expect(env).not.toHaveProperty('TABLE_NAME');
  });

  it('routes every WebSocket route to the socket function', () => {
    const integrations = ofType('AWS::ApiGatewayV2::Integration').filter(([, r]) => JSON.stringify(r.Properties.ApiId) === JSON.stringify(apiRef()));
    expect(integrations.length).toBe(1);
    expect(integrations[0]![1].Properties.IntegrationType).toBe('AWS_PROXY');
    expect(flatten(integrations[0]![1].Properties.IntegrationUri)).toContain(logicalId(s.stack.functions.socket.fn));
  });

  it('has a throttled, logged stage without query strings (they carry tokens) in the access log', () => {
    const stages = ofType('AWS::ApiGatewayV2::Stage').filter(([, r]) => JSON.stringify(r.Properties.ApiId) === JSON.stringify(apiRef()));
    expect(stages.length).toBe(1);
    const stage = stages[0]![1];
    expect(stage.Properties.StageName).toBe(SOCKET_STAGE);
    expect(stage.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: expect.any(Number), ThrottlingBurstLimit: expect.any(Number) });
    expect(stage.Properties.AccessLogSettings.Format).not.toMatch(/querystring|token/i);
  });

  it('grants execute-api:ManageConnections only to the pushing functions, only on this API stage connections', () => {
    const manage = (name: SatchelFunctionName) => statementsOf(s, name).filter((st) => st.actions.some((a) => a.startsWith('execute-api:')));
    for (const name of ['intake', 'actions', 'agent'] as const) {
      const statements = manage(name);
      expect(statements.map((st) => st.actions), name).toEqual([['execute-api:ManageConnections']]);
      expect(statements[0]!.resources, name).toEqual([
        `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${logicalId(s.stack.webSocket.api)}}/${SOCKET_STAGE}/POST/@connections/*`,
      ]);
      expect(flatten(functionProps(s, name).Environment.Variables.SOCKET_ENDPOINT), name).toMatch(
        new RegExp(`^https://\\$\\{${logicalId(s.stack.webSocket.api)}\\}\\.execute-api\\..*/${SOCKET_STAGE}$`),
      );
    }
    for (const name of ['proxy', 'mailer', 'expiry', 'socket', 'socket-authorizer'] as const) {
      expect(manage(name), name).toEqual([]);
      expect(functionProps(s, name).Environment.Variables, name).not.toHaveProperty('SOCKET_ENDPOINT');
    }
  });

  it('gives intake the wss:// URL clients connect to', () => {
    const url = flatten(functionProps(s, 'intake').Environment.Variables.SOCKET_URL);
    expect(url).toMatch(new RegExp(`^wss://\\$\\{${logicalId(s.stack.webSocket.api)}\\}\\.execute-api\\..*/${SOCKET_STAGE}$`));
  });

  it('lets the socket function read sessions and write connections, nothing else', () => {
    const actions = statementsOf(s, 'socket').flatMap((st) => st.actions);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']));
    expect(actions.filter((a) => /^(s3|sqs|secretsmanager|ses|execute-api):/.test(a))).toEqual([]);
  });
});
