import { beforeAll, describe, expect, it } from 'vitest';
import type { SatchelFunctionName } from '../../cdk/satchel-stack';
import { FUNCTION_CONFIG } from '../../functions/config-keys';
import {
  actionsOf,
  FIXTURE_SECRET_NAMES,
  functionProps,
  logicalId,
  statementsOf,
  SYNTH_TIMEOUT,
  type Synthesized,
  synthSatchel,
  TEST_SENDER,
} from './synth';

const ALL: SatchelFunctionName[] = ['intake', 'actions', 'proxy', 'agent', 'mailer', 'expiry', 'socket', 'socket-authorizer'];

let s: Synthesized;
beforeAll(() => {
  s = synthSatchel();
}, SYNTH_TIMEOUT);

describe('functions', () => {
  const env = (name: SatchelFunctionName): Record<string, unknown> => functionProps(s, name).Environment.Variables;

  it.each(ALL)('%s runs Node.js 22+ on arm64 with X-Ray and its own log group', (name) => {
    const props = functionProps(s, name);
    expect(Number(/^nodejs(\d+)\.x$/.exec(props.Runtime)?.[1])).toBeGreaterThanOrEqual(22);
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.TracingConfig).toEqual({ Mode: 'Active' });
    expect(props.LoggingConfig.LogGroup).toEqual({ Ref: logicalId(s.stack.functions[name]!.logGroup) });
    expect(props.Handler).toBe('index.handler');
    expect(env(name)).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'satchel', LOG_LEVEL: 'INFO' });
  });

  it('keeps function logs for a month', () => {
    for (const name of ALL) {
      const group = s.template.toJSON().Resources[logicalId(s.stack.functions[name]!.logGroup)];
      expect(group.Properties.RetentionInDays).toBe(30);
    }
  });

  it('gives actions the time and memory to stream 100 MB and keeps proxy small', () => {
    // The timeout is one turn's worst case (cdk/timing.ts; test/cdk/timing.test.ts): 15 s + one 55-s action.
    expect(functionProps(s, 'actions')).toMatchObject({ MemorySize: 1024, Timeout: 70 });
    expect(functionProps(s, 'proxy')).toMatchObject({ MemorySize: 256, Timeout: 5 });
  });

  it('uses no managed policies (no AWSLambdaBasicExecutionRole)', () => {
    for (const name of ALL) {
      const role = s.template.toJSON().Resources[logicalId(s.stack.functions[name]!.role)];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('bundles the bots into the functions whose wiring loads them and points BOTS_DIR at them', () => {
    for (const name of ['intake', 'actions', 'agent', 'mailer'] as const) {
      expect(env(name).BOTS_DIR).toBe('/var/task/bots');
    }
    // The proxy serves /files links and expiry deletes; neither reads a bot.
    for (const name of ['proxy', 'expiry'] as const) expect(env(name)).not.toHaveProperty('BOTS_DIR');
  });

  it("gives each function exactly the settings its wiring reads, and every one it requires", () => {
    const always = new Set(['POWERTOOLS_SERVICE_NAME', 'LOG_LEVEL', 'NODE_OPTIONS']);
    for (const name of ALL) {
      const reads = new Set<string>(FUNCTION_CONFIG[name]);
      const given = Object.keys(env(name)).filter((k) => !always.has(k));
      expect(given.filter((k) => !reads.has(k)), name).toEqual([]);
      // What the wiring cannot do without (no default, not optional) is there.
      const required = FUNCTION_CONFIG[name].filter((k) => !['SECRETS_SOURCE', 'SECRETS_FILE', 'SECRETS_PREFIX', 'BOT_SECRETS', 'SENDER_EMAIL', 'FETCH_ALLOW_HOSTS', 'MESSENGER_API_URL', 'AWS_REGION', 'EVENTS_QUEUE_URL', 'MAIL_QUEUE_URL', 'AGENT_SIGN_IN', 'COGNITO_CLIENT_ID', 'COGNITO_ENDPOINT', 'DYNAMODB_ENDPOINT', 'S3_ENDPOINT', 'SES_ENDPOINT'].includes(k));
      expect(required.filter((k) => !given.includes(k)), name).toEqual([]);
    }
    expect(env('proxy')).not.toHaveProperty('SECRETS_PREFIX');
    expect(env('mailer')).not.toHaveProperty('BOT_SECRETS');
    expect(env('mailer')).not.toHaveProperty('SECRETS_PREFIX');
  });

  it('sets the configuration shared/config.ts reads', () => {
    const table = { Ref: logicalId(s.stack.storage.table) };
    const bucket = { Ref: logicalId(s.stack.storage.bucket) };
    const signingKey = { Ref: logicalId(s.stack.signingKey) };
    expect(env('intake')).toMatchObject({
      TABLE_NAME: table,
      BUCKET_NAME: bucket,
      SIGNING_KEY_SECRET: signingKey,
      SECRETS_SOURCE: 'secrets-manager',
      SECRETS_PREFIX: 'satchel/',
      EVENTS_QUEUE_URL: { Ref: logicalId(s.stack.eventsQueue.queue) },
      AGENT_SIGN_IN: 'cognito',
      COGNITO_CLIENT_ID: { Ref: logicalId(s.stack.auth.client) },
    });
    expect(env('actions').BOT_SECRETS).toBe('docs-token,fb-page');
    expect(env('intake').BOT_SECRETS).toBe('fb-app-secret,fb-verify');
    expect(env('proxy')).not.toHaveProperty('BOT_SECRETS');
    expect(env('expiry')).not.toHaveProperty('BOTS_DIR');
    expect(env('expiry')).not.toHaveProperty('SIGNING_KEY_SECRET');
    expect(env('actions')).toMatchObject({
      MAIL_QUEUE_URL: { Ref: logicalId(s.stack.mailQueue!.queue) },
      FETCH_ALLOW_HOSTS: '',
      MESSENGER_API_URL: 'https://graph.facebook.com/v21.0',
    });
    expect(env('agent')).toMatchObject({ MESSENGER_API_URL: 'https://graph.facebook.com/v21.0' });
    expect(env('mailer')).toMatchObject({ SENDER_EMAIL: TEST_SENDER, TABLE_NAME: table });
    expect(env('expiry')).toMatchObject({ TABLE_NAME: table, BUCKET_NAME: bucket });
  });

  it('generates a 64-character signing key secret', () => {
    s.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
    });
  });
});

describe('least privilege', () => {
  const table = () => `\${${logicalId(s.stack.storage.table)}.Arn}`;
  const objects = () => `\${${logicalId(s.stack.storage.bucket)}.Arn}/sessions/*`;
  const has = (name: SatchelFunctionName, action: string) => actionsOf(s, name).includes(action);
  const resourcesFor = (name: SatchelFunctionName, action: string) =>
    statementsOf(s, name)
      .filter((st) => st.actions.includes(action))
      .flatMap((st) => st.resources);

  it('grants no wildcard actions and "*" resources only for X-Ray and ListStreams', () => {
    for (const name of ALL) {
      for (const st of statementsOf(s, name)) {
        expect(st.effect).toBe('Allow');
        for (const action of st.actions) expect(action).not.toContain('*');
        if (st.resources.includes('*')) {
          expect(st.actions.every((a) => ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'dynamodb:ListStreams'].includes(a))).toBe(true);
        }
      }
    }
    expect(resourcesFor('expiry', 'dynamodb:ListStreams')).toEqual(['*']);
    expect(has('intake', 'dynamodb:ListStreams')).toBe(false);
  });

  it('scopes object access to the sessions/ prefix of the attachments bucket, and upload keys to uploads/', () => {
    const uploads = `\${${logicalId(s.stack.storage.bucket)}.Arn}/uploads/*`;
    for (const name of ALL) {
      for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
        for (const resource of resourcesFor(name, action)) expect([objects(), uploads]).toContain(resource);
      }
    }
    // Upload keys: intake presigns forms and removes stale uploads, actions and agent take
    // files out of them; nobody else touches them, and only the takers read them.
    const onUploads = (name: SatchelFunctionName) =>
      statementsOf(s, name)
        .filter((st) => st.resources.includes(uploads))
        .flatMap((st) => st.actions)
        .sort();
    expect(onUploads('intake')).toEqual(['s3:DeleteObject', 's3:PutObject']);
    expect(onUploads('actions')).toEqual(['s3:DeleteObject', 's3:GetObject']);
    expect(onUploads('agent')).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    for (const name of ['proxy', 'mailer', 'expiry', 'socket', 'socket-authorizer'] as const) expect(onUploads(name)).toEqual([]);
  });

  it('intake presigns uploads and removes stale ones but never reads files', () => {
    expect(actionsOf(s, 'intake')).toEqual(expect.arrayContaining(['s3:PutObject', 's3:DeleteObject']));
    expect(actionsOf(s, 'intake')).not.toContain('s3:GetObject');
  });

  it('proxy only reads: no writes, deletes, queues, mail or bot secrets', () => {
    const actions = actionsOf(s, 'proxy');
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 's3:GetObject', 'secretsmanager:GetSecretValue']));
    for (const forbidden of ['s3:PutObject', 's3:DeleteObject', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
      expect(actions).not.toContain(forbidden);
    }
    expect(actions.filter((a) => a.startsWith('sqs:') || a.startsWith('ses:'))).toEqual([]);
    expect(resourcesFor('proxy', 'secretsmanager:GetSecretValue')).toEqual([`\${${logicalId(s.stack.signingKey)}}`]);
  });

  it('expiry can only find and delete: no SES, no secrets, no reads of file contents', () => {
    const actions = actionsOf(s, 'expiry');
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:Query', 'dynamodb:BatchWriteItem', 's3:ListBucket', 's3:DeleteObject']),
    );
    expect(actions.filter((a) => a.startsWith('ses:') || a.startsWith('secretsmanager:'))).toEqual([]);
    expect(actions).not.toContain('s3:GetObject');
    expect(actions).not.toContain('s3:PutObject');
    expect(actions).not.toContain('dynamodb:PutItem');
    const list = statementsOf(s, 'expiry').find((st) => st.actions.includes('s3:ListBucket'))!;
    expect(list.condition).toEqual({ StringLike: { 's3:prefix': ['sessions/*'] } });
  });

  it('only the mailer may send email, and only as the sender identity', () => {
    for (const name of ALL.filter((n) => n !== 'mailer')) {
      expect(actionsOf(s, name).filter((a) => a.startsWith('ses:'))).toEqual([]);
    }
    const resources = resourcesFor('mailer', 'ses:SendEmail');
    expect(resourcesFor('mailer', 'ses:SendRawEmail')).toEqual(resources);
    const configurationSet = logicalId(s.stack.node.findChild('Sender').node.findChild('ConfigurationSet'));
    expect(resources.sort()).toEqual([
      `arn:\${AWS::Partition}:ses:\${AWS::Region}:\${AWS::AccountId}:configuration-set/\${${configurationSet}}`,
      'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/acme-claims.com',
      `arn:\${AWS::Partition}:ses:\${AWS::Region}:\${AWS::AccountId}:identity/${TEST_SENDER}`,
    ]);
    expect(has('mailer', 's3:PutObject')).toBe(false);
  });

  it('only intake sends to the events queue; only actions sends mail', () => {
    const events = `\${${logicalId(s.stack.eventsQueue.queue)}.Arn}`;
    const mail = `\${${logicalId(s.stack.mailQueue!.queue)}.Arn}`;
    const watch = `\${${logicalId(s.stack.malwareScan!.watch.queue)}.Arn}`;
    expect(resourcesFor('intake', 'sqs:SendMessage')).toEqual([events]);
    // The agent API writes the transcript and pushes to Messenger itself; it queues only the
    // overdue checks of the files agents send (malware scanning, SPEC 13).
    expect(resourcesFor('agent', 'sqs:SendMessage')).toEqual([watch]);
    expect(resourcesFor('actions', 'sqs:SendMessage').sort()).toEqual([mail, watch].sort());
    expect(resourcesFor('actions', 'sqs:ReceiveMessage')).toEqual([events]);
    expect(resourcesFor('mailer', 'sqs:ReceiveMessage')).toEqual([mail]);
    expect(has('mailer', 'sqs:SendMessage')).toBe(false);
  });

  it('table access is item-level on the table and the conversations index only', () => {
    for (const name of ALL) {
      for (const st of statementsOf(s, name).filter((x) => x.actions.some((a) => a.startsWith('dynamodb:') && a !== 'dynamodb:ListStreams'))) {
        if (st.actions.includes('dynamodb:GetRecords')) continue; // stream read, scoped to the stream ARN
        expect(st.resources).toEqual([table(), `${table()}/index/gsi1`]);
      }
    }
    expect(has('proxy', 'dynamodb:Query')).toBe(true);
    expect(has('expiry', 'dynamodb:UpdateItem')).toBe(false);
  });

  it('grants bot secrets by exact name: webhook secrets to intake, turn secrets to actions, page tokens to agent, none to others', () => {
    const arn = (n: string) => `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:satchel/${n}-??????`;
    const botSecretsOf = (name: SatchelFunctionName) =>
      resourcesFor(name, 'secretsmanager:GetSecretValue')
        .filter((r) => r.includes(':secret:satchel/'))
        .sort();
    expect(FIXTURE_SECRET_NAMES).toEqual(['docs-token', 'fb-app-secret', 'fb-page', 'fb-verify']);
    // Intake checks webhooks; it never fetches documents or sends replies.
    expect(botSecretsOf('intake')).toEqual([arn('fb-app-secret'), arn('fb-verify')].sort());
    expect(botSecretsOf('actions')).toEqual([arn('docs-token'), arn('fb-page')].sort());
    // Agent messages are pushed to Messenger with the page access token, and nothing else.
    expect(botSecretsOf('agent')).toEqual([arn('fb-page')]);
    for (const name of ['proxy', 'mailer', 'expiry'] as const) expect(botSecretsOf(name)).toEqual([]);
  });

  it('lets only the functions that check uploads see 404 for missing objects', () => {
    const listStatements = (name: SatchelFunctionName) => statementsOf(s, name).filter((st) => st.actions.includes('s3:ListBucket'));
    const bucketArn = `\${${logicalId(s.stack.storage.bucket)}.Arn}`;
    for (const name of ['actions', 'agent'] as const) {
      expect(listStatements(name)).toEqual([expect.objectContaining({ resources: [bucketArn], condition: undefined })]);
    }
    for (const name of ['intake', 'proxy', 'mailer'] as const) expect(listStatements(name)).toEqual([]);
    expect(listStatements('expiry')[0]!.condition).toEqual({ StringLike: { 's3:prefix': ['sessions/*'] } });
  });
});

describe('source maps context', () => {
  const nodeOptions = (x: Synthesized) => ALL.map((name) => functionProps(x, name).Environment.Variables.NODE_OPTIONS);

  it('ships the map files but does not load them at cold start by default', () => {
    expect(nodeOptions(s)).toEqual(ALL.map(() => undefined));
  });

  it('-c sourceMaps=true (or true in cdk.json) enables them in every function', () => {
    for (const value of ['true', true]) {
      expect(nodeOptions(synthSatchel({ context: { sourceMaps: value } }))).toEqual(ALL.map(() => '--enable-source-maps'));
    }
    expect(nodeOptions(synthSatchel({ context: { sourceMaps: 'false' } }))).toEqual(ALL.map(() => undefined));
  }, SYNTH_TIMEOUT * 2);

  it('refuses anything but true or false, naming the key', () => {
    expect(() => synthSatchel({ context: { sourceMaps: 'yes' } })).toThrow(/Context "sourceMaps" is "yes"; expected true or false/);
  });
});

describe('sender identity context', () => {
  it('creates the SES identity only when asked and scopes sends to the configured sender', () => {
    const without = synthSatchel({ context: { senderEmail: 'help@acme-help.io' } });
    without.template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    const configurationSet = logicalId(without.stack.node.findChild('Sender').node.findChild('ConfigurationSet'));
    expect(statementsOf(without, 'mailer').find((st) => st.actions.includes('ses:SendEmail'))!.resources.sort()).toEqual([
      `arn:\${AWS::Partition}:ses:\${AWS::Region}:\${AWS::AccountId}:configuration-set/\${${configurationSet}}`,
      'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/acme-help.io',
      'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/help@acme-help.io',
    ]);

    const withIdentity = synthSatchel({ context: { senderEmail: 'help@acme-help.io', createSenderIdentity: 'true' } });
    withIdentity.template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'help@acme-help.io' });
  }, SYNTH_TIMEOUT);
});
