import { secretNames } from '../../shared/bots/loader';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, NagPack, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { SatchelFunctionName } from '../../cdk/satchel-stack';
import { CONTEXT_DEFAULTS, secretsPrefixFor, stackIdFor } from '../../cdk/settings';
import { DEFAULT_FILE_BACKSTOP_DAYS } from '../../cdk/timing';
import { FUNCTION_CONFIG } from '../../functions/config-keys';
import { FIXTURE_SECRET_NAMES, functionProps, logicalId, statementsOf, SYNTH_TIMEOUT, type Synthesized, synthSatchel } from './synth';

/** Issue 13 point 5: alarms that reach someone, a dashboard, stages, a custom domain, storage hygiene. */

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }>;
const ALL: SatchelFunctionName[] = ['intake', 'actions', 'proxy', 'agent', 'mailer', 'expiry', 'socket', 'socket-authorizer'];
const CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666';

const alarmsOf = (s: Synthesized) =>
  Object.values(s.template.toJSON().Resources as Resources)
    .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
    .map((r) => r.Properties);
const topicRef = (s: Synthesized) => ({ Ref: logicalId(s.stack.monitoring.alarmTopic) });

describe('alarms and dashboard', () => {
  let s: Synthesized;
  let alarms: Record<string, any>[];
  beforeAll(() => {
    s = synthSatchel();
    alarms = alarmsOf(s);
  }, SYNTH_TIMEOUT);

  it('every alarm notifies the alarm topic', () => {
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([topicRef(s)]);
  });

  it('alarms on every function\'s errors and throttles', () => {
    for (const name of ALL) {
      const fn = { Ref: logicalId(s.stack.functions[name]!.fn) };
      for (const metric of ['Errors', 'Throttles']) {
        const matching = alarms.filter(
          (a) => a.Namespace === 'AWS/Lambda' && a.MetricName === metric && JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: fn }]),
        );
        expect(matching, `${name} ${metric}`).toHaveLength(1);
        expect(matching[0]).toMatchObject({ Statistic: 'Sum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
      }
    }
  });

  it('alarms on the age of the oldest message of the events and mail queues', () => {
    for (const queue of [s.stack.eventsQueue.queue, s.stack.mailQueue!.queue]) {
      const matching = alarms.filter(
        (a) =>
          a.MetricName === 'ApproximateAgeOfOldestMessage' &&
          JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue), 'QueueName'] } }]),
      );
      expect(matching).toHaveLength(1);
      expect(matching[0]!.Threshold).toBeGreaterThan(0);
    }
    // A turn older than one visibility timeout has failed at least once.
    const events = alarms.find((a) => a.MetricName === 'ApproximateAgeOfOldestMessage' && JSON.stringify(a.Dimensions).includes(logicalId(s.stack.eventsQueue.queue)))!;
    expect(events.Threshold).toBe(s.stack.timing.actions.visibilityTimeout.toSeconds());
  });

  it('alarms on the expiry function\'s stream iterator age', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Statistic: 'Maximum',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(s.stack.functions.expiry.fn) } }],
      Threshold: 15 * 60 * 1000,
    });
  });

  it('alarms on the HTTP API 5xx rate and the WebSocket API error rate', () => {
    const mathAlarms = alarms.filter((a) => a.Metrics);
    const metricNames = (a: Record<string, any>) =>
      (a.Metrics as { MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: unknown }[] } } }[])
        .flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : []))
        .sort();
    const http = mathAlarms.find((a) => metricNames(a).includes('5xx'))!;
    expect(metricNames(http)).toEqual(['5xx', 'Count']);
    expect(JSON.stringify(http.Metrics)).toContain(logicalId(s.stack.api.httpApi));
    expect(http.Metrics.find((m: { ReturnData?: boolean }) => m.ReturnData !== false).Expression).toMatch(/100 \* errors \/ requests/);
    expect(http.Threshold).toBe(5);
    const socket = mathAlarms.find((a) => metricNames(a).includes('ExecutionError'))!;
    expect(metricNames(socket)).toEqual(['ConnectCount', 'ExecutionError', 'IntegrationError', 'MessageCount']);
    expect(JSON.stringify(socket.Metrics)).toContain(logicalId(s.stack.webSocket.api));
  });

  it('alarms when a bot secret is missing or unreadable (BotSecretUnavailable per bot, summed)', () => {
    const secretAlarms = alarms.filter((a) => JSON.stringify(a.Metrics ?? []).includes('BotSecretUnavailable'));
    expect(secretAlarms).toHaveLength(1);
    const [alarm] = secretAlarms;
    const bots = (alarm!.Metrics as { MetricStat?: { Metric: { Namespace: string; Dimensions: { Name: string; Value: string }[] } } }[]).flatMap((m) =>
      m.MetricStat ? [m.MetricStat.Metric.Dimensions.find((d) => d.Name === 'bot')!.Value] : [],
    );
    // Every deployed bot that references a secret, and only those.
    const withSecrets = s.stack.bots.bots.filter((b) => secretNames(b).length > 0).map((b) => b.id);
    expect(withSecrets.length).toBeGreaterThan(0);
    expect(bots).toEqual(withSecrets);
    expect(alarm!.Threshold).toBe(0);
  });

  it('alarms as soon as any dead-letter queue holds a message', () => {
    const dlqs = [s.stack.eventsQueue.deadLetterQueue, s.stack.mailQueue!.deadLetterQueue, s.stack.expiryFailures.queue];
    for (const dlq of dlqs) {
      const matching = alarms.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Dimensions).includes(logicalId(dlq)));
      expect(matching).toHaveLength(1);
    }
  });

  it('alarms on SES bounces and complaints of its configuration set and on the account\'s reputation rates', () => {
    const configurationSet = { Ref: logicalId(s.stack.node.findChild('Sender').node.findChild('ConfigurationSet')) };
    for (const metric of ['Bounce', 'Complaint']) {
      s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SES',
        MetricName: metric,
        Dimensions: [{ Name: 'ses:configuration-set', Value: configurationSet }],
        Threshold: 0,
      });
    }
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SES', MetricName: 'Reputation.BounceRate', Threshold: 0.05 });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SES', MetricName: 'Reputation.ComplaintRate', Threshold: 0.001 });
  });

  it('has one dashboard showing every function and every alarm', () => {
    s.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(Object.values(s.template.toJSON().Resources as Resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard')!.Properties.DashboardBody);
    for (const name of ALL) expect(body, name).toContain(logicalId(s.stack.functions[name]!.fn));
    for (const alarm of s.stack.monitoring.alarms) expect(body).toContain(logicalId(alarm));
    expect(s.template.toJSON().Outputs.DashboardName).toBeDefined();
  });

  it('subscribes nobody to the topic without alarmEmail', () => {
    s.template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('context: alarmEmail', () => {
  it('subscribes the address to the alarm topic by email', () => {
    const s = synthSatchel({ context: { alarmEmail: 'ops@acme-claims.com' } });
    s.template.resourceCountIs('AWS::SNS::Subscription', 1);
    s.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@acme-claims.com', TopicArn: topicRef(s) });
  }, SYNTH_TIMEOUT);

  it('refuses something that is not an address, naming the key', () => {
    expect(() => synthSatchel({ context: { alarmEmail: 'ops' } })).toThrow(/Context "alarmEmail" is "ops"; expected an email address/);
  });
});

describe('context: stage', () => {
  it('gives a stage its own stack name and bot secret prefix', () => {
    expect(stackIdFor('')).toBe('Satchel');
    expect(stackIdFor('dev')).toBe('Satchel-dev');
    const s = synthSatchel({ context: { stage: 'dev' }, stackId: stackIdFor('dev') });
    expect(s.stack.stackName).toBe('Satchel-dev');
    expect(secretsPrefixFor('dev')).toBe('satchel/dev/');
    const env = functionProps(s, 'actions').Environment.Variables;
    expect(env.SECRETS_PREFIX).toBe('satchel/dev/');
    const grants = statementsOf(s, 'actions').flatMap((st) => st.resources).filter((r) => r.includes(':secret:satchel/'));
    expect(grants.length).toBeGreaterThan(0);
    for (const grant of grants) expect(grant).toMatch(/:secret:satchel\/dev\/[a-z-]+-\?{6}$/);
    expect(s.template.toJSON().Outputs.BotSecretNames.Value).toBe(FIXTURE_SECRET_NAMES.map((n) => `satchel/dev/${n}`).join(', '));
    // Tagged, so a stage's resources can be told apart in the account.
    s.template.hasResourceProperties('AWS::DynamoDB::Table', { Tags: Match.arrayWith([{ Key: 'satchel:stage', Value: 'dev' }]) });
  }, SYNTH_TIMEOUT);

  it('keeps the default stage backward compatible: stack Satchel, secrets satchel/NAME', () => {
    const s = synthSatchel();
    expect(s.stack.stackName).toBe('Satchel');
    expect(functionProps(s, 'actions').Environment.Variables.SECRETS_PREFIX).toBe('satchel/');
  }, SYNTH_TIMEOUT);

  it('refuses a stage name that does not fit stack and secret names', () => {
    expect(() => synthSatchel({ context: { stage: 'Prod_1' } })).toThrow(/Context "stage" is "Prod_1"/);
  });
});

describe('context: custom domain', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthSatchel({ context: { domainName: 'chat.acme-claims.com', certificateArn: CERT } });
  }, SYNTH_TIMEOUT);

  it('maps the domain to the HTTP API with the certificate and outputs the DNS target', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'chat.acme-claims.com',
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: CERT })],
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', { ApiId: { Ref: logicalId(s.stack.api.httpApi) }, DomainName: Match.anyValue() });
    const outputs = s.template.toJSON().Outputs;
    expect(outputs.ApiUrl.Value).toBe('https://chat.acme-claims.com');
    expect(outputs.ApiDomainTarget).toBeDefined();
  });

  it('builds absolute links on the domain and allows only its origin to upload', () => {
    const linking = ALL.filter((name) => (FUNCTION_CONFIG[name] as readonly string[]).includes('PUBLIC_BASE_URL'));
    expect(linking.length).toBeGreaterThan(0);
    for (const name of linking) {
      expect(functionProps(s, name).Environment.Variables.PUBLIC_BASE_URL, name).toBe('https://chat.acme-claims.com');
    }
    const bucket = (s.template.toJSON().Resources as Resources)[logicalId(s.stack.storage.bucket)]!;
    expect(bucket.Properties.CorsConfiguration.CorsRules[0].AllowedOrigins).toEqual(['https://chat.acme-claims.com']);
  });

  it('needs both keys, and valid ones', () => {
    expect(() => synthSatchel({ context: { domainName: 'chat.acme-claims.com' } })).toThrow(/"domainName" and "certificateArn" go together/);
    expect(() => synthSatchel({ context: { certificateArn: CERT } })).toThrow(/"domainName" and "certificateArn" go together/);
    expect(() => synthSatchel({ context: { domainName: 'https://chat', certificateArn: CERT } })).toThrow(/Context "domainName"/);
    expect(() => synthSatchel({ context: { domainName: 'chat.acme-claims.com', certificateArn: 'cert-1' } })).toThrow(/Context "certificateArn"/);
  });
});

function acknowledgedIds(root: IConstruct): Set<string> {
  return new Set(
    root.node.findAll().flatMap((c) =>
      c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).flatMap((m) => Object.keys(m.data as Record<string, string>)),
    ),
  );
}

describe('storage hygiene', () => {
  it('with removalPolicy=destroy empties both buckets on teardown, and nag passes with no stale acknowledgement', () => {
    const s = synthSatchel({ context: { removalPolicy: 'destroy' } });
    const resources = s.template.toJSON().Resources as Resources;
    const autoDeletes = Object.values(resources).filter((r) => r.Type === 'Custom::S3AutoDeleteObjects');
    expect(autoDeletes.map((r) => r.Properties.BucketName).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      [{ Ref: logicalId(s.stack.storage.accessLogsBucket) }, { Ref: logicalId(s.stack.storage.bucket) }].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    // CDK's auto-delete provider raises no finding, and every acknowledgement still silences a real one.
    const used = new Set<string>();
    const proto = NagPack.prototype as unknown as { isAcknowledged: (node: IConstruct, id: string) => boolean };
    const original = proto.isAcknowledged;
    const spy = vi.spyOn(proto, 'isAcknowledged').mockImplementation(function (this: unknown, node, id) {
      const hit = original.call(this, node, id);
      if (hit) used.add(id);
      return hit;
    });
    try {
      for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) expect(pack.validateScope(s.app).success).toBe(true);
    } finally {
      spy.mockRestore();
    }
    expect([...acknowledgedIds(s.app)].map((id) => id.replace(/^annotation::/i, '')).filter((id) => !used.has(id))).toEqual([]);
  }, SYNTH_TIMEOUT);

  it('keeps the buckets and never auto-deletes by default', () => {
    const s = synthSatchel();
    s.template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    expect((s.template.toJSON().Resources as Resources)[logicalId(s.stack.storage.bucket)]!.DeletionPolicy).toBe('Retain');
  }, SYNTH_TIMEOUT);

  it('keeps the lifecycle backstop longer than the longest session, by default and when set', () => {
    const ruleDays = (s: Synthesized) =>
      (s.template.toJSON().Resources as Resources)[logicalId(s.stack.storage.bucket)]!.Properties.LifecycleConfiguration.Rules.find(
        (r: { Id: string }) => r.Id === 'ExpireSessionFiles',
      ).ExpirationInDays as number;
    const s = synthSatchel();
    expect(ruleDays(s)).toBe(DEFAULT_FILE_BACKSTOP_DAYS);
    expect(ruleDays(s) * 86400).toBeGreaterThan(s.stack.bots.maxSessionTimeoutSeconds);
    expect(ruleDays(synthSatchel({ context: { fileRetentionDays: '14' } }))).toBe(14);
  }, SYNTH_TIMEOUT);
});

describe('docs/deploy.md', () => {
  const guide = readFileSync(fileURLToPath(new URL('../../docs/deploy.md', import.meta.url)), 'utf8');
  it('lists every context key in its table', () => {
    const rows = guide.split('\n').filter((line) => line.startsWith('| `'));
    for (const key of Object.keys(CONTEXT_DEFAULTS)) {
      expect(rows.some((row) => row.includes(`\`${key}\``)), key).toBe(true);
    }
  });
});
