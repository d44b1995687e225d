import { resolve } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkEndpoints, warnAboutEndpoints } from '../../cdk/bot-checks';
import { loadBotBundle } from '../../cdk/bots';
import { SatchelStack } from '../../cdk/satchel-stack';
import { BotSchema, type Bot } from '../../shared/bots/schema';
import { FIXTURE_BOTS_DIR, SYNTH_TIMEOUT, synthSatchel } from './synth';

/**
 * Issue 13, point 1: `cdk synth` warns, naming the bot, the interaction and the reason, about
 * every Send Attachment endpoint the deployed SSRF-safe fetcher is certain to refuse, using
 * the fetcher's own address rules and the deployment's `fetchAllowHosts`.
 */

const DEMO_WARNING = /^Bot "demo", interaction "send-sample": Send Attachment endpoint http:\/\/127\.0\.0\.1:4570\/documents\/sample\.pdf\?ref=\{session\.id\} will be refused by the deployed fetcher \(address_refused: the address is not public \(loopback\)\).*fetchAllowHosts=127\.0\.0\.1:4570/;

const endpointWarnings = (stack: Stack) =>
  Annotations.fromStack(stack)
    .findWarning('*', Match.stringLikeRegexp('Send Attachment endpoint'))
    .map((m) => String(m.entry.data));

describe('synth warnings for refused Send Attachment endpoints', () => {
  // Full synthesis (cdk-nag included) is slow on a busy machine; hence the generous hook timeouts.
  let demo: Stack;
  beforeAll(() => {
    demo = synthSatchel({ botsDir: resolve('bots') }).stack;
  }, 3 * SYNTH_TIMEOUT);

  it('warns about the shipped demo bot\'s loopback endpoint, once', () => {
    const warnings = endpointWarnings(demo);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(DEMO_WARNING);
  });

  it('says nothing once the endpoint is in -c fetchAllowHosts', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], fetchAllowHosts: 'example.org:443,127.0.0.1:4570' } });
    const stack = new SatchelStack(app, 'Allowed', { botsDir: resolve('bots') });
    expect(endpointWarnings(stack)).toEqual([]);
  }, 3 * SYNTH_TIMEOUT);

  it('finds nothing to warn about in the fixture bots (a public DNS endpoint)', () => {
    expect(checkEndpoints(loadBotBundle(FIXTURE_BOTS_DIR).bots, '')).toEqual([]);
  });
});

describe('checkEndpoints (the fetcher\'s rules at synth)', () => {
  const cases: [string, string | undefined][] = [
    ['http://127.0.0.1:4570/doc', 'address_refused: the address is not public (loopback)'],
    ['https://10.0.0.5/doc', 'address_refused: the address is not public (private)'],
    ['https://192.168.1.20:8443/doc', 'address_refused: the address is not public (private)'],
    ['http://169.254.169.254/latest/meta-data/', 'address_refused: the address is not public (linkLocal)'],
    ['https://100.64.0.1/doc', 'address_refused: the address is not public (carrierGradeNat)'],
    ['https://[::1]/doc', 'address_refused: the address is not public (loopback)'],
    ['https://[fd00::1]/doc', 'address_refused: the address is not public (uniqueLocal)'],
    ['https://[::ffff:10.1.2.3]/doc', 'address_refused: the address is not public (private)'],
    ['http://0x7f000001/doc', 'address_refused: the address is not public (loopback)'],
    ['http://localhost:8080/doc', 'address_refused: localhost resolves to a loopback address, which is not public'],
    ['https://files.localhost/doc', 'address_refused: localhost resolves to a loopback address, which is not public'],
    ['https://user:pw@docs.example.com/doc', 'invalid_url: credentials in URLs are not allowed'],
    // Allowed: a public literal (http is allowed by the fetcher), a DNS name (judged at run time).
    ['http://93.184.215.14/doc', undefined],
    ['https://docs.example.com/forms/{claimType}?ref={session.id}', undefined],
    ['https://internal.corp.example/doc', undefined],
  ];
  const bot = (endpoints: string[]): Bot =>
    BotSchema.parse({
      id: 'many',
      name: 'Many endpoints',
      start: 'a0',
      interactions: Object.fromEntries(
        [
          ...endpoints.map((endpoint, i): [string, unknown] => [`a${i}`, { type: 'action', action: { type: 'sendAttachment', endpoint }, onError: 'sorry' }]),
          ['sorry', { type: 'message', text: 'Sorry.' }],
        ],
      ),
    });

  it.each(cases)('%s → %s', (endpoint, reason) => {
    const findings = checkEndpoints([bot([endpoint])], '');
    expect(findings.map((f) => f.reason)).toEqual(reason ? [reason] : []);
    if (reason) expect(findings[0]).toMatchObject({ botId: 'many', interactionId: 'a0', endpoint, verdict: 'refused' });
  });

  it('skips host:port entries in fetchAllowHosts (default ports filled in, case-insensitive), and only those', () => {
    const endpoints = ['http://127.0.0.1:4570/doc', 'http://LOCALHOST/doc', 'https://10.0.0.5/doc', 'https://10.0.0.6/doc'];
    const findings = checkEndpoints([bot(endpoints)], '127.0.0.1:4570, localhost:80,10.0.0.5:443');
    expect(findings.map((f) => [f.interactionId, f.hostPort])).toEqual([['a3', '10.0.0.6:443']]);
  });

  it('notes, without warning, an endpoint whose host is a placeholder: only run time can judge it', () => {
    const stack = new Stack(new App(), 'Checks');
    const findings = warnAboutEndpoints(stack, [bot(['https://{tenant}.docs.example.com/doc', 'http://10.9.8.7/doc'])], '');
    expect(findings.map((f) => [f.interactionId, f.verdict])).toEqual([
      ['a0', 'runtime'],
      ['a1', 'refused'],
    ]);
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findInfo('*', Match.stringLikeRegexp('interaction "a0".*cannot be checked at synth'))).toHaveLength(1);
    const warnings = annotations.findWarning('*', Match.anyValue()).map((m) => String(m.entry.data));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Bot "many", interaction "a1": Send Attachment endpoint http:\/\/10\.9\.8\.7\/doc will be refused .*\(private\).*onError.*fetchAllowHosts=10\.9\.8\.7:80/);
  });

  it('does not suggest fetchAllowHosts for a URL no allowance can fix (credentials)', () => {
    const stack = new Stack(new App(), 'Creds');
    warnAboutEndpoints(stack, [bot(['https://u:p@docs.example.com/doc'])], '');
    const [warning] = Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map((m) => String(m.entry.data));
    expect(warning).toMatch(/invalid_url/);
    expect(warning).not.toMatch(/fetchAllowHosts/);
  });
});
