import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultRouteFn, routeKey, routes } from '../../shared/http/routes';
import { functionProps, logicalId, SYNTH_TIMEOUT, type Synthesized, synthSatchel } from './synth';

type Resource = { Type: string; Properties: Record<string, any> };

let s: Synthesized;
let resources: Record<string, Resource>;
beforeAll(() => {
  s = synthSatchel();
  resources = s.template.toJSON().Resources;
}, SYNTH_TIMEOUT);

describe('HTTP API', () => {
  let routeByKey: Map<string, Resource>;
  beforeAll(() => {
    routeByKey = new Map(
      Object.values(resources)
        // The HTTP API's routes (the WebSocket API has its own $default; see websocket.test.ts).
        .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.ApiId?.Ref === logicalId(s.stack.api.httpApi))
        .map((r) => [r.Properties.RouteKey as string, r]),
    );
  });

  /** The function a route's integration invokes, as its logical id. */
  const targetFunctionOf = (route: Resource): string => {
    const integrationId = (route.Properties.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
    const uri = resources[integrationId.Ref]!.Properties.IntegrationUri;
    return uri['Fn::GetAtt'][0];
  };
  const authorizerId = () =>
    Object.keys(resources).find((id) => resources[id]!.Type === 'AWS::ApiGatewayV2::Authorizer')!;
  const fnId = (name: 'intake' | 'proxy' | 'agent') => logicalId(s.stack.functions[name].fn);

  it('has exactly the non-local routes of the shared table plus $default', () => {
    const expected = routes.filter((r) => !r.localOnly).map(routeKey);
    expect([...routeByKey.keys()].sort()).toEqual([...expected, '$default'].sort());
    expect(routeByKey.has('POST /local/agent-token')).toBe(false);
  });

  it.each(routes.filter((r) => !r.localOnly).map((r) => [routeKey(r), r] as const))(
    '%s goes to the right function with the right authorization',
    (key, route) => {
      const resource = routeByKey.get(key)!;
      expect(targetFunctionOf(resource)).toBe(fnId(route.fn));
      if (route.auth === 'jwt') {
        expect(resource.Properties.AuthorizationType).toBe('JWT');
        expect(resource.Properties.AuthorizerId).toEqual({ Ref: authorizerId() });
      } else {
        expect(resource.Properties.AuthorizationType).toBe('NONE');
      }
    },
  );

  it('puts every /agent/ data route behind the JWT authorizer', () => {
    const agentRoutes = [...routeByKey.entries()].filter(([key]) => key.includes(' /agent/'));
    expect(agentRoutes.length).toBeGreaterThan(0);
    for (const [, r] of agentRoutes) expect(r.Properties.AuthorizationType).toBe('JWT');
  });

  it('sends unmatched requests ($default) to the default route function', () => {
    const fallback = routeByKey.get('$default')!;
    expect(targetFunctionOf(fallback)).toBe(fnId(defaultRouteFn));
    expect(fallback.Properties.AuthorizationType).toBe('NONE');
  });

  it('uses Lambda proxy integrations with payload format 2.0', () => {
    s.template.resourcePropertiesCountIs(
      'AWS::ApiGatewayV2::Integration',
      { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' },
      3,
    );
  });

  it('validates agent JWTs against the Cognito pool and the console client', () => {
    const [authorizer] = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Authorizer');
    const [id, r] = authorizer!;
    expect(id).toMatch(/AgentJwtAuthorizer/);
    expect(r.Properties.AuthorizerType).toBe('JWT');
    expect(r.Properties.IdentitySource).toEqual(['$request.header.Authorization']);
    expect(r.Properties.JwtConfiguration.Audience).toEqual([{ Ref: logicalId(s.stack.auth.client) }]);
    // ProviderURL is https://cognito-idp.{region}.amazonaws.com/{poolId}, the pool's token issuer.
    expect(r.Properties.JwtConfiguration.Issuer).toEqual({ 'Fn::GetAtt': [logicalId(s.stack.auth.userPool), 'ProviderURL'] });
  });

  it('logs JSON access lines without request paths (file tokens) and throttles the stage', () => {
    const stage = Object.values(resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Stage')!;
    expect(stage.Properties.StageName).toBe('$default');
    expect(stage.Properties.AutoDeploy).toBe(true);
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
    expect(stage.Properties.AccessLogSettings.Format).not.toMatch(/\$context\.path/);
    expect(stage.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
  });

  it('gives the functions that write absolute links the API endpoint as PUBLIC_BASE_URL', () => {
    const apiId = logicalId(s.stack.api.httpApi);
    for (const name of ['actions', 'agent', 'mailer'] as const) {
      expect(functionProps(s, name).Environment.Variables.PUBLIC_BASE_URL).toEqual({ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] });
    }
  });

  it('outputs the API URL, user pool, client, bucket and table', () => {
    const outputs = s.template.toJSON().Outputs;
    for (const key of ['ApiUrl', 'UserPoolId', 'UserPoolClientId', 'BucketName', 'TableName']) {
      expect(outputs).toHaveProperty(key);
    }
    expect(outputs.BotSecretNames.Value).toBe('satchel/docs-token, satchel/fb-app-secret, satchel/fb-page, satchel/fb-verify');
    expect(outputs.ApiUrl.Value).toEqual({ 'Fn::GetAtt': [logicalId(s.stack.api.httpApi), 'ApiEndpoint'] });
  });
});

describe('agent user pool', () => {

  it('is admin-provisioned with a strong password policy and TOTP MFA', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        },
      },
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
    });
  });

  it('has a public console client allowing the password and refresh flows the console uses (issue 13; SRP is not used)', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      PreventUserExistenceErrors: 'ENABLED',
    });
  });

  it('requires MFA when deployed with agentMfa=required', () => {
    const strict = synthSatchel({ context: { agentMfa: 'required' } });
    strict.template.hasResourceProperties('AWS::Cognito::UserPool', { MfaConfiguration: 'ON' });
  }, SYNTH_TIMEOUT);
});
