import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIONS_BATCH_SIZE,
  actionsRecordBudgetSeconds,
  FETCH_BUDGET,
  longestActionRun,
  MAILER_BATCH_SIZE,
  MAX_FUNCTION_TIMEOUT,
  queueTiming,
  TimingError,
} from '../../cdk/timing';
import { DEFAULT_MAILER_OPTIONS } from '../../shared/app/mail-attachment';
import { QUEUE_MAX_RECEIVE_COUNT, RETRY_WINDOW_MS } from '../../shared/app/retry-policy';
import { DEFAULT_SEND_ATTACHMENT_LIMITS } from '../../shared/app/send-attachment';
import { loadBotsDir } from '../../shared/bots/loader';
import { BotSchema } from '../../shared/bots/schema';
import { functionProps, logicalId, SYNTH_TIMEOUT, type Synthesized, synthSatchel } from './synth';

/** Issue 13 point 4: no batch can outlive its function; asserted on the synthesized template. */

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

function consumerOf(s: Synthesized, name: 'actions' | 'mailer') {
  const resources = s.template.toJSON().Resources as Resources;
  const fn = s.stack.functions[name]!;
  const [mapping, ...others] = Object.values(resources).filter(
    (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && JSON.stringify(r.Properties.FunctionName) === JSON.stringify({ Ref: logicalId(fn.fn) }),
  );
  expect(others).toEqual([]);
  const queueId = (mapping!.Properties.EventSourceArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return {
    batchSize: mapping!.Properties.BatchSize as number,
    timeout: functionProps(s, name).Timeout as number,
    visibility: resources[queueId]!.Properties.VisibilityTimeout as number,
    maxReceiveCount: resources[queueId]!.Properties.RedrivePolicy.maxReceiveCount as number,
  };
}

const tmp = mkdtempSync(join(tmpdir(), 'satchel-cdk-timing-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const action = (next?: string, onError?: string) => ({
  type: 'action',
  ...(next && { next }),
  ...(onError && { onError }),
  action: { type: 'sendAttachment', endpoint: 'https://docs.acme-claims.com/form.pdf' },
});

function botsDir(name: string, interactions: Record<string, unknown>, start = Object.keys(interactions)[0]!): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ id: name, name, start, interactions }));
  return dir;
}

describe('queue consumer timing on the template', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthSatchel();
  }, SYNTH_TIMEOUT);

  it('no actions batch outlives the function: batch size x (turn + actions x (fetch budget + action)) <= timeout', () => {
    const { batchSize, timeout } = consumerOf(s, 'actions');
    const actionsPerTurn = s.stack.timing.actionsPerTurn;
    // The fixtures' claims bot runs one Send Attachment per input.
    expect(actionsPerTurn).toBe(1);
    // The fetch budget is the one the runtime enforces, not a copy.
    expect(FETCH_BUDGET.toMilliseconds()).toBe(DEFAULT_SEND_ATTACHMENT_LIMITS.timeoutMs);
    expect(batchSize * actionsRecordBudgetSeconds(actionsPerTurn)).toBeLessThanOrEqual(timeout);
    expect(batchSize * actionsPerTurn * (DEFAULT_SEND_ATTACHMENT_LIMITS.timeoutMs / 1000)).toBeLessThan(timeout);
    expect(batchSize).toBe(ACTIONS_BATCH_SIZE);
    expect(timeout).toBeLessThanOrEqual(MAX_FUNCTION_TIMEOUT.toSeconds());
  });

  it('no mailer batch outlives the function, and the function ends before a mail claim lease does', () => {
    const { batchSize, timeout } = consumerOf(s, 'mailer');
    expect(batchSize).toBe(MAILER_BATCH_SIZE);
    expect(batchSize * s.stack.timing.mailer.recordBudget.toSeconds()).toBeLessThanOrEqual(timeout);
    expect(timeout * 1000).toBeLessThan(DEFAULT_MAILER_OPTIONS.claimLeaseMs);
  });

  it('each queue hides a received message for at least 6 function timeouts and retries for the whole retry window', () => {
    for (const name of ['actions', 'mailer'] as const) {
      const { timeout, visibility, maxReceiveCount } = consumerOf(s, name);
      expect(visibility, name).toBeGreaterThanOrEqual(6 * timeout);
      expect(maxReceiveCount).toBe(QUEUE_MAX_RECEIVE_COUNT);
      expect((maxReceiveCount - 1) * visibility * 1000, name).toBeGreaterThanOrEqual(RETRY_WINDOW_MS);
    }
  });

  it('grows the actions timeout with the longest chain of actions a bot runs for one input', () => {
    const dir = botsDir('chain', { a: action('b'), b: action('c', 'sorry'), c: action(), sorry: { type: 'message', text: 'Sorry' } });
    const chained = synthSatchel({ botsDir: dir });
    expect(chained.stack.timing.actionsPerTurn).toBe(3);
    const { batchSize, timeout, visibility } = consumerOf(chained, 'actions');
    expect(timeout).toBe(batchSize * actionsRecordBudgetSeconds(3));
    expect(timeout).toBeGreaterThanOrEqual(3 * FETCH_BUDGET.toSeconds());
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  }, SYNTH_TIMEOUT);

  it('refuses a loop of actions that never waits for the user, naming the bot and the interactions', () => {
    const dir = botsDir('loop', { retry: action('note', 'retry'), note: { type: 'message', text: 'Again', next: 'retry' } });
    expect(() => synthSatchel({ botsDir: dir })).toThrow(TimingError);
    expect(() => synthSatchel({ botsDir: dir })).toThrow(/Bot "loop": interactions retry -> .*retry run endless Send Attachment actions/);
  }, SYNTH_TIMEOUT);
});

describe('longestActionRun', () => {
  const bot = (interactions: Record<string, unknown>) =>
    BotSchema.parse({ id: 'b', name: 'B', start: Object.keys(interactions)[0], interactions });

  it('stops at interactions that wait for the user', () => {
    const b = bot({
      first: action('ask'),
      ask: { type: 'question', text: 'Which?', variable: 'v', next: 'second' },
      second: action('menu'),
      menu: { type: 'message', text: 'More?', buttons: [{ label: 'Yes', next: 'first' }] },
    });
    expect(longestActionRun(b).count).toBe(1);
  });

  it('follows onError and plain messages, and takes the longest branch', () => {
    const b = bot({
      a: action('done', 'fallback'),
      done: { type: 'message', text: 'Done' },
      fallback: { type: 'message', text: 'Trying the mirror', next: 'mirror' },
      mirror: action('again'),
      again: action(),
    });
    expect(longestActionRun(b)).toEqual({ count: 3, via: ['a', 'fallback', 'mirror', 'again'] });
  });

  it('counts nothing for bots without actions, and does not mistake a message loop for actions', () => {
    const b = bot({ hi: { type: 'message', text: 'Hi', next: 'there' }, there: { type: 'message', text: 'There', next: 'hi' } });
    expect(longestActionRun(b).count).toBe(0);
  });

  it('gives the shipped bots a timing that fits Lambda', () => {
    const timing = queueTiming(loadBotsDir(fileURLToPath(new URL('../../bots', import.meta.url))));
    expect(timing.actions.timeout.toSeconds()).toBeLessThanOrEqual(MAX_FUNCTION_TIMEOUT.toSeconds());
    expect(timing.actionsPerTurn).toBeGreaterThanOrEqual(1);
  });
});
