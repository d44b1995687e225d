import { type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  ApiMapping,
  DomainName,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type HttpFunctionName, type RouteDef, routeKey } from '../../shared/http/routes';

export interface SatchelApiProps {
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Serve the API at `https://<domainName>` with this ACM certificate (same region). */
  readonly customDomain?: { readonly domainName: string; readonly certificateArn: string };
}

export interface RouteTableProps {
  readonly routes: readonly RouteDef[];
  /** Where requests no route matches go, so they get the JSON 404 of the error contract. */
  readonly defaultRouteFn: HttpFunctionName;
  readonly handlers: Record<HttpFunctionName, IFunction>;
  /** Guards every `auth: 'jwt'` route. */
  readonly jwtAuthorizer: IHttpRouteAuthorizer;
}

/**
 * Why each public route needs no API Gateway authorizer: the handler authenticates the
 * caller itself, with a credential API Gateway cannot check. Channel webhooks carry their
 * reason in the route table (from shared/channels/registry.ts).
 */
const PUBLIC_ROUTE_REASONS: { match: (path: string) => boolean; reason: string }[] = [
  {
    match: (p) => p === '/' || p === '/agent',
    reason: 'serves a static page (web chat client or agent console) holding no user data; every /agent/* data route uses the JWT authorizer',
  },
  {
    match: (p) => p === '/web/bots/{botId}/config' || p === '/web/sessions',
    reason: 'is how an anonymous website visitor starts a chat (public bot settings, session creation that returns the signed session token)',
  },
  {
    match: (p) => p.startsWith('/web/sessions/'),
    reason: 'is authenticated by the handler with the HMAC-signed, expiring session bearer token issued by POST /web/sessions',
  },
  {
    match: (p) => p === '/widget.js',
    reason: 'serves the static chat launcher script that other sites embed (SPEC 11); it holds no user data',
  },
  {
    match: (p) => p === '/files/{token}',
    reason: 'is a download link: the path carries an HMAC-signed, expiring token bound to one attachment, checked by the handler',
  },
];

/**
 * The HTTP API (API Gateway v2), generated from the shared route table so AWS and the local
 * runtime serve the same routes. The `$default` stage logs JSON access lines (route key, not
 * path, so file tokens stay out of the logs) and throttles every route.
 */
export class SatchelApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  /**
   * Where users reach the API, no trailing slash: `https://<domainName>` with a custom
   * domain, else `https://{id}.execute-api.{region}.amazonaws.com`. Absolute links
   * (PUBLIC_BASE_URL), the bucket's CORS origin and the ApiUrl output use it.
   */
  readonly url: string;
  /** The custom domain, if any; point a CNAME (or alias) for it at `regionalDomainName`. */
  readonly domainName?: DomainName;

  constructor(scope: Construct, id: string, props: SatchelApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Satchel chatbot attachments API',
      createDefaultStage: false,
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            sourceIp: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
          }),
        ),
      },
    });
    if (props.customDomain) {
      this.domainName = new DomainName(this, 'DomainName', {
        domainName: props.customDomain.domainName,
        certificate: Certificate.fromCertificateArn(this, 'Certificate', props.customDomain.certificateArn),
      });
      new ApiMapping(this, 'DomainMapping', { api: this.httpApi, domainName: this.domainName, stage: this.stage });
      this.url = `https://${props.customDomain.domainName}`;
    } else {
      this.url = this.httpApi.apiEndpoint;
    }
  }

  /** One route per non-local entry of the table, plus `$default`. */
  addRouteTable(props: RouteTableProps): void {
    const integrations = new Map<HttpFunctionName, HttpLambdaIntegration>();
    const integrationFor = (fn: HttpFunctionName) => {
      let integration = integrations.get(fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${capitalize(fn)}Integration`, props.handlers[fn]);
        integrations.set(fn, integration);
      }
      return integration;
    };

    for (const route of props.routes) {
      if (route.localOnly) continue;
      const httpRoute = new HttpRoute(this, routeConstructId(route), {
        httpApi: this.httpApi,
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration: integrationFor(route.fn),
        authorizer: route.auth === 'jwt' ? props.jwtAuthorizer : undefined,
      });
      if (route.auth !== 'jwt') acknowledgePublicRoute(httpRoute, routeKey(route), route.publicReason ?? publicRouteReason(route.path));
    }

    const fallback = new HttpRoute(this, 'DefaultRoute', {
      httpApi: this.httpApi,
      routeKey: HttpRouteKey.DEFAULT,
      integration: integrationFor(props.defaultRouteFn),
    });
    acknowledgePublicRoute(fallback, '$default', 'only answers requests that match no route, with the JSON 404 of the error contract');
  }
}

function publicRouteReason(path: string): string {
  const found = PUBLIC_ROUTE_REASONS.find((r) => r.match(path));
  if (!found) {
    throw new Error(
      `Route ${path} has no authorizer and no documented reason to be public: add auth: 'jwt' in shared/http/routes.ts ` +
        'or a reason in cdk/constructs/api.ts',
    );
  }
  return found.reason;
}

function acknowledgePublicRoute(route: HttpRoute, key: string, why: string): void {
  Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: `Public route ${key}: it ${why}.` });
}

/** `GET /web/sessions/{sessionId}/messages` -> `GetWebSessionsSessionIdMessages`; `/` -> `GetRoot`. */
function routeConstructId(route: RouteDef): string {
  const parts = route.path.split('/').filter(Boolean).map((p) => capitalize(p.replace(/[{}+]/g, '').replace(/-(\w)/g, (_, c: string) => c.toUpperCase())));
  return `${capitalize(route.method.toLowerCase())}${parts.length ? parts.join('') : 'Root'}`;
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
