import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NagPack, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SatchelStack } from '../../cdk/satchel-stack';
import { BotFileError } from '../../shared/bots/loader';
import { routes } from '../../shared/http/routes';
import { logicalId, statementsOf, SYNTH_TIMEOUT, type Synthesized, synthSatchel } from './synth';

/** What synthesis checks before anything deploys: cdk-nag findings and the bot files. */

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

function acknowledgementsIn(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag', () => {
  let s: Synthesized;
  beforeAll(() => {
    // Synthesis itself runs both packs as validation plugins and throws on any finding.
    s = synthSatchel();
  }, SYNTH_TIMEOUT);

  it('AwsSolutions and Serverless packs report no errors or warnings', () => {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const report = pack.validateScope(s.app);
      const findings = report.violations.map(
        (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      );
      expect(findings).toEqual([]);
      expect(report.success).toBe(true);
    }
  });

  it('every acknowledgement names a nag rule and gives a specific reason', () => {
    const acks = acknowledgementsIn(s.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id).toMatch(/^(AwsSolutions|Serverless)-[A-Za-z0-9]+(\[.+\])?$/);
      expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThanOrEqual(80);
      expect(ack.reason).not.toMatch(/^(todo|n\/a|ok|fine|suppress)/i);
    }
  });

  it('acknowledges only this reviewed set of rules', () => {
    const ids = [...new Set(acknowledgementsIn(s.app).map((a) => a.id))].sort();
    expect(ids).toEqual(
      [
        'AwsSolutions-APIG4',
        'AwsSolutions-COG2',
        'AwsSolutions-COG8',
        'AwsSolutions-IAM5[Resource::*]',
        `AwsSolutions-IAM5[Resource::<${logicalId(s.stack.storage.bucket)}.Arn>/sessions/*]`,
        // Upload keys (issue 12): random per slot, outside the session prefixes.
        `AwsSolutions-IAM5[Resource::<${logicalId(s.stack.storage.bucket)}.Arn>/uploads/*]`,
        // Pushing functions post to this WebSocket API's connections only (ids exist at run time).
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${logicalId(s.stack.webSocket.api)}>/live/POST/@connections/*]`,
        // GuardDuty Malware Protection for S3 manages EventBridge rules it names at run time (issue 16).
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*]',
        'AwsSolutions-SMG4',
        'AwsSolutions-SQS3',
        'Serverless-LambdaDLQ',
        'Serverless-LambdaEventSourceMappingDestination',
        'Serverless-SQSRedrivePolicy',
      ].sort(),
    );
  });

  it('has no stale acknowledgements: each one silences a real finding', () => {
    const used = new Set<string>();
    const proto = NagPack.prototype as unknown as { isAcknowledged: (node: IConstruct, id: string) => boolean };
    const original = proto.isAcknowledged;
    const spy = vi.spyOn(proto, 'isAcknowledged').mockImplementation(function (this: unknown, node, id) {
      const hit = original.call(this, node, id);
      if (hit) used.add(id);
      return hit;
    });
    try {
      new AwsSolutionsChecks().validateScope(s.app);
      new ServerlessChecks().validateScope(s.app);
    } finally {
      spy.mockRestore();
    }
    const acknowledged = new Set(acknowledgementsIn(s.app).map((a) => a.id));
    expect([...acknowledged].filter((id) => !used.has(id))).toEqual([]);
  });

  it('APIG4 is acknowledged on public routes only, never on /agent/ data routes', () => {
    const apig4 = acknowledgementsIn(s.app).filter((a) => a.id === 'AwsSolutions-APIG4');
    const httpRoutes = apig4.filter((a) => a.reason.startsWith('Public route '));
    // One per public route of the table (pages, web API, files, each channel's webhooks) and the
    // $default route, no more: 11 before the Telegram webhook joined the channels.
    const publicRoutes = routes.filter((r) => r.auth !== 'jwt' && !r.localOnly);
    expect(publicRoutes.length + 1).toBeGreaterThanOrEqual(12);
    expect(httpRoutes.length).toBe(publicRoutes.length + 1);
    expect(httpRoutes.map((a) => a.reason)).toContainEqual(expect.stringMatching(/^Public route POST \/channels\/telegram\/\{botId\}.*X-Telegram-Bot-Api-Secret-Token/));
    for (const ack of apig4) expect(ack.reason).not.toMatch(/Public route [A-Z]+ \/agent\//);
    // The WebSocket API: only $disconnect and $default, which cannot carry an authorizer; never $connect.
    const socketRoutes = apig4.filter((a) => !a.reason.startsWith('Public route '));
    expect(socketRoutes.map((a) => a.reason.match(/^WebSocket route (\S+):/)?.[1]).sort()).toEqual(['$default', '$disconnect']);
  });

  it('writes the acknowledgements into the template as an audit trail', () => {
    const secret = s.template.toJSON().Resources[logicalId(s.stack.signingKey)];
    expect(secret.Metadata.cdk_nag.rules_to_suppress).toContainEqual(
      expect.objectContaining({ id: 'AwsSolutions-SMG4', reason: expect.stringMatching(/rotat/) }),
    );
  });

  it('drops the optional-MFA and feature-plan acknowledgements when the stricter settings are chosen', () => {
    const strict = synthSatchel({ context: { agentMfa: 'required', cognitoFeaturePlan: 'plus' } });
    const ids = acknowledgementsIn(strict.app).map((a) => a.id);
    expect(ids).not.toContain('AwsSolutions-COG2');
    expect(ids).not.toContain('AwsSolutions-COG8');
  }, SYNTH_TIMEOUT);
});

const tmp = mkdtempSync(join(tmpdir(), 'satchel-cdk-bots-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function botsDir(name: string, files: Record<string, unknown>): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  for (const [file, content] of Object.entries(files)) {
    writeFileSync(join(dir, file), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const stackWith = (dir: string) =>
  new SatchelStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Satchel', { botsDir: dir });

describe('bots at synth', () => {
  it('stops synth on an invalid bot, naming the file and the JSON path', () => {
    const dir = botsDir('invalid', {
      'good.json': { id: 'good', name: 'Good', start: 'hi', interactions: { hi: { type: 'message', text: 'Hi' } } },
      'broken.json': { id: 'broken', name: 'Broken', start: 'missing', interactions: { hi: { type: 'message', text: 'Hi' } } },
    });
    let error: unknown;
    try {
      stackWith(dir);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BotFileError);
    expect((error as Error).message).toContain(join(dir, 'broken.json'));
    expect((error as Error).message).toContain('$.start');
  }, SYNTH_TIMEOUT);

  it('stops synth when the lifecycle backstop would outrun a bot session timeout', () => {
    const dir = botsDir('long-sessions', {
      'slow.json': { id: 'slow', name: 'Slow', sessionTimeoutSeconds: 10 * 86400, start: 'hi', interactions: { hi: { type: 'message', text: 'Hi' } } },
    });
    const withRetention = (days: number) => () =>
      new SatchelStack(new App({ context: { 'aws:cdk:bundling-stacks': [], fileRetentionDays: days } }), 'Satchel', { botsDir: dir });
    expect(withRetention(7)).toThrow(/fileRetentionDays \(7\) is shorter than the longest bot sessionTimeoutSeconds \(864000 s\)/);
    expect(withRetention(10)).not.toThrow();
  }, SYNTH_TIMEOUT);

  it('stops synth on a file that is not JSON', () => {
    const dir = botsDir('not-json', { 'oops.json': '{ "id": ' });
    expect(() => stackWith(dir)).toThrow(/oops\.json/);
  }, SYNTH_TIMEOUT);

  it('grants no bot secrets when no bot references one', () => {
    const dir = botsDir('no-secrets', {
      'faq.json': { id: 'faq', name: 'FAQ', start: 'hi', interactions: { hi: { type: 'message', text: 'Hi' } } },
    });
    const s = synthSatchel({ botsDir: dir });
    expect(s.stack.bots.botIds).toEqual(['faq']);
    for (const name of ['intake', 'actions'] as const) {
      const botSecrets = statementsOf(s, name)
        .flatMap((st) => st.resources)
        .filter((r) => r.includes(':secret:satchel/'));
      expect(botSecrets).toEqual([]);
    }
  }, SYNTH_TIMEOUT);

  it('accepts the bots shipped in the repository', () => {
    expect(() => new SatchelStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Satchel')).not.toThrow();
  }, SYNTH_TIMEOUT);
});
