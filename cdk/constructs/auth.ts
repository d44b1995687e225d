import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { AccountRecovery, FeaturePlan, Mfa, UserPool, UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';

/**
 * How long agents' tokens last. The console refreshes the ID and access tokens with the
 * refresh token shortly before they expire, so an agent stays signed in for the refresh
 * token's life (a working day) and then signs in again.
 */
export const AGENT_TOKEN_VALIDITY = {
  accessAndId: Duration.hours(1),
  refresh: Duration.hours(12),
  signInSession: Duration.minutes(15),
} as const;

export interface AgentAuthProps {
  readonly removalPolicy: RemovalPolicy;
  /** `required` forces TOTP for every agent; `optional` lets each agent enrol. */
  readonly mfa: 'optional' | 'required';
  /** `plus` adds Cognito threat protection (billed per monthly active user). */
  readonly featurePlan: 'essentials' | 'plus';
}

/**
 * Live Takeover agents: a Cognito user pool of staff accounts an administrator creates
 * (no self sign-up), a public app client for the agent console, and the JWT authorizer
 * that guards the `/agent/...` API routes.
 */
export class AgentAuth extends Construct {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  readonly authorizer: HttpJwtAuthorizer;

  constructor(scope: Construct, id: string, props: AgentAuthProps) {
    super(scope, id);

    this.userPool = new UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      // Email is the user name (UsernameAttributes: email): `admin-create-user --username
      // ann@example.com` works as README shows. An email *alias* beside a user name refuses
      // email-shaped user names. Cognito cannot change this in place: a new value replaces the pool.
      signInAliases: { email: true },
      autoVerify: { email: true },
      signInCaseSensitive: false,
      standardAttributes: {
        email: { required: true, mutable: true },
        // Shown to users as {agent.name} when an agent takes over.
        fullname: { required: false, mutable: true },
      },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: props.mfa === 'required' ? Mfa.REQUIRED : Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      featurePlan: props.featurePlan === 'plus' ? FeaturePlan.PLUS : FeaturePlan.ESSENTIALS,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy: props.removalPolicy,
    });

    if (props.mfa === 'optional') {
      Validations.of(this.userPool).acknowledge({
        id: 'AwsSolutions-COG2',
        reason:
          'MFA (TOTP) is optional by default: each agent can turn it on from the console (Two-factor authentication); ' +
          'accounts are created only by an administrator and need a 12-character complex password. ' +
          'Deploy with -c agentMfa=required to make TOTP mandatory: the console then enrols every agent at first sign-in.',
      });
    }
    if (props.featurePlan === 'essentials') {
      Validations.of(this.userPool).acknowledge({
        id: 'AwsSolutions-COG8',
        reason:
          'Threat protection needs the Plus feature plan, billed per monthly active user; the pool only holds a ' +
          'few administrator-created staff accounts (self sign-up disabled). Deploy with -c cognitoFeaturePlan=plus to enable it.',
      });
    }

    this.client = this.userPool.addClient('AgentConsole', {
      // A browser app cannot keep a client secret.
      generateSecret: false,
      // Only what the console (web/agent-auth.js) calls: InitiateAuth USER_PASSWORD_AUTH, then
      // REFRESH_TOKEN_AUTH before the ID token expires (CDK always adds ALLOW_REFRESH_TOKEN_AUTH).
      authFlows: { userPassword: true },
      // No hosted UI: no OAuth flows, scopes or callback URLs (the defaults allow the implicit
      // and code grants with an example.com callback).
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: AGENT_TOKEN_VALIDITY.accessAndId,
      idTokenValidity: AGENT_TOKEN_VALIDITY.accessAndId,
      refreshTokenValidity: AGENT_TOKEN_VALIDITY.refresh,
      // Time to finish a sign-in's challenges: the longest Cognito allows, since TOTP enrolment
      // (installing an authenticator app, adding the key) takes longer than the 3-minute default.
      authSessionValidity: AGENT_TOKEN_VALIDITY.signInSession,
    });

    this.authorizer = new HttpJwtAuthorizer('AgentJwtAuthorizer', this.userPool.userPoolProviderUrl, {
      jwtAudience: [this.client.userPoolClientId],
    });
  }
}
