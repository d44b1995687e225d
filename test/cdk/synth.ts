import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { applyNagPacks } from '../../cdk/nag';
import { SatchelStack, type SatchelFunctionName } from '../../cdk/satchel-stack';

/** Two bots referencing four secrets between them (claims: Messenger + an authorized fetch). */
export const FIXTURE_BOTS_DIR = fileURLToPath(new URL('./fixtures/bots', import.meta.url));
export const FIXTURE_SECRET_NAMES = ['docs-token', 'fb-app-secret', 'fb-page', 'fb-verify'];

/**
 * The sender tests deploy with unless they say otherwise: without a real `senderEmail` the
 * stack has email disabled (no mail queue, no mailer; see test/cdk/email.test.ts).
 */
export const TEST_SENDER = 'attachments@acme-claims.com';

/** Synthesis with both nag packs takes a few seconds; more when test files run in parallel. */
export const SYNTH_TIMEOUT = 60_000;

export interface Synthesized {
  app: App;
  stack: SatchelStack;
  template: Template;
}

/** The feature flags and settings in cdk.json, so tests see the template `cdk synth` produces. */
const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(fileURLToPath(new URL('../../cdk.json', import.meta.url)), 'utf8')) as { context?: Record<string, unknown> }
).context;

/**
 * Builds the app exactly as cdk/app.ts does (cdk-nag packs included, so synthesis fails on
 * any unacknowledged finding), with asset bundling skipped to keep the suite fast.
 */
export function synthSatchel(options: { context?: Record<string, unknown>; botsDir?: string; stackId?: string } = {}): Synthesized {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], senderEmail: TEST_SENDER, ...options.context } });
  const stack = new SatchelStack(app, options.stackId ?? 'Satchel', { botsDir: options.botsDir ?? FIXTURE_BOTS_DIR });
  applyNagPacks(app);
  return { app, stack, template: Template.fromStack(stack) };
}

export const logicalId = (construct: IConstruct): string =>
  Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

/** A function role's inline policy statements, with actions and resources normalised. */
export function statementsOf(s: Synthesized, name: SatchelFunctionName) {
  const role = s.stack.functions[name]!.role;
  const policy = role.node.findChild('DefaultPolicy');
  const resources = s.template.toJSON().Resources as Record<string, { Properties: { PolicyDocument: { Statement: Statement[] } } }>;
  return resources[logicalId(policy)]!.Properties.PolicyDocument.Statement.map((st) => ({
    effect: st.Effect,
    actions: [st.Action].flat(),
    resources: [st.Resource].flat().map(flatten),
    condition: st.Condition,
  }));
}

export const actionsOf = (s: Synthesized, name: SatchelFunctionName): string[] =>
  statementsOf(s, name).flatMap((st) => st.actions);

/** Renders a CloudFormation value as a readable string: `${Logical.Attr}`, `${AWS::Region}`. */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Ref' in v) return `\${${String(v.Ref)}}`;
  if ('Fn::GetAtt' in v) return `\${${(v['Fn::GetAtt'] as string[]).join('.')}}`;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(sep);
  }
  return JSON.stringify(value);
}

/** The Lambda function resource's properties. */
export function functionProps(s: Synthesized, name: SatchelFunctionName): Record<string, any> {
  const resources = s.template.toJSON().Resources as Record<string, { Properties: Record<string, any> }>;
  return resources[logicalId(s.stack.functions[name]!.fn)]!.Properties;
}
