import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { AccountRecovery, FeaturePlan, Mfa, UserPool, UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';

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
      signInAliases: { username: true, email: true },
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
          'MFA (TOTP) is optional by default so a first deployment works with any agent console sign-in flow; ' +
          'accounts are created only by an administrator and need a 12-character complex password. ' +
          'Deploy with -c agentMfa=required to make TOTP mandatory for every agent.',
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
      authFlows: { userPassword: true, userSrp: true },
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });

    this.authorizer = new HttpJwtAuthorizer('AgentJwtAuthorizer', this.userPool.userPoolProviderUrl, {
      jwtAudience: [this.client.userPoolClientId],
    });
  }
}
