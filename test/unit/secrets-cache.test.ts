import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { botSecrets, MissingSecret, SecretsManagerSecrets, StaticSecrets } from '../../shared/adapters/secrets';
import { ACCESS_DENIED, DECRYPTION_FAILURE, INTERNAL_ERROR, startSecretsManager, THROTTLED, type FakeSecretsManager } from '../support/secrets-manager';

/**
 * The secrets cache (issue 13): bot secrets are read lazily, the first time they are used,
 * through the real SDK client against a Secrets Manager stand-in. Values are read once per
 * container; a missing or unreadable secret is remembered for a while as such; a transient
 * failure is never remembered, so the retried work asks again.
 */

let sm: FakeSecretsManager;
beforeAll(async () => {
  sm = await startSecretsManager();
});
afterAll(async () => {
  await sm?.close();
});
beforeEach(() => {
  sm.values = { 'satchel/docs': 'Bearer docs-value', 'satchel/bin': { binary: true } };
  sm.requests = {};
  sm.fail = undefined;
});

const rejection = async (p: Promise<unknown>): Promise<unknown> => p.then(() => expect.fail('expected a rejection'), (err: unknown) => err);

describe('SecretsManagerSecrets', () => {
  it('reads nothing until a secret is used, then one request per secret however often and however concurrently it is used', async () => {
    const secrets = new SecretsManagerSecrets(sm.client());
    expect(sm.requests).toEqual({});
    const values = await Promise.all([secrets.get('satchel/docs'), secrets.get('satchel/docs'), secrets.get('satchel/docs')]);
    expect(values).toEqual(['Bearer docs-value', 'Bearer docs-value', 'Bearer docs-value']);
    expect(await secrets.get('satchel/docs')).toBe('Bearer docs-value');
    expect(sm.requests).toEqual({ 'satchel/docs': 1 });
  });

  it('reports a secret nobody created as missing, remembers that for missMaxAgeMs, then asks again and finds it once created', async () => {
    let now = 1_000_000;
    const secrets = new SecretsManagerSecrets(sm.client(), { missMaxAgeMs: 60_000, now: () => now });
    const first = await rejection(secrets.get('satchel/absent'));
    expect(first).toBeInstanceOf(MissingSecret);
    expect(first).toMatchObject({ secretName: 'satchel/absent', problem: 'missing', message: 'Missing secret "satchel/absent"' });
    now += 59_000;
    expect(await rejection(secrets.get('satchel/absent'))).toBeInstanceOf(MissingSecret);
    expect(sm.requests['satchel/absent']).toBe(1);

    sm.values['satchel/absent'] = 'created after deploy';
    now += 2_000;
    expect(await secrets.get('satchel/absent')).toBe('created after deploy');
    expect(sm.requests['satchel/absent']).toBe(2);
    // A found value is kept for good.
    now += 3_600_000;
    expect(await secrets.get('satchel/absent')).toBe('created after deploy');
    expect(sm.requests['satchel/absent']).toBe(2);
  });

  it('reports a secret without a string value as missing', async () => {
    const err = await rejection(new SecretsManagerSecrets(sm.client()).get('satchel/bin'));
    expect(err).toBeInstanceOf(MissingSecret);
    expect(err).toMatchObject({ problem: 'missing' });
  });

  it.each([ACCESS_DENIED, DECRYPTION_FAILURE])('reports $type as unreadable (permanent) and remembers it', async (failure) => {
    sm.fail = () => failure;
    const secrets = new SecretsManagerSecrets(sm.client());
    const err = await rejection(secrets.get('satchel/docs'));
    expect(err).toBeInstanceOf(MissingSecret);
    expect(err).toMatchObject({ problem: 'unreadable', message: 'Secret "satchel/docs" cannot be read' });
    expect(await rejection(secrets.get('satchel/docs'))).toBeInstanceOf(MissingSecret);
    expect(sm.requests['satchel/docs']).toBe(1);
  });

  it.each([THROTTLED, INTERNAL_ERROR])('passes $type on as it came (not MissingSecret) and does not remember it: the next use asks again', async (failure) => {
    sm.fail = (_id, n) => (n === 1 ? failure : undefined);
    const secrets = new SecretsManagerSecrets(sm.client());
    const [a, b] = await Promise.all([rejection(secrets.get('satchel/docs')), rejection(secrets.get('satchel/docs'))]);
    for (const err of [a, b]) {
      expect(err).not.toBeInstanceOf(MissingSecret);
      expect(err).toMatchObject({ name: failure.type });
    }
    // The two concurrent uses shared the one failed request.
    expect(sm.requests['satchel/docs']).toBe(1);
    expect(await secrets.get('satchel/docs')).toBe('Bearer docs-value');
    expect(sm.requests['satchel/docs']).toBe(2);
  });

  it('passes on a network failure (nothing listening) as transient', async () => {
    const dead = await startSecretsManager();
    const client = dead.client();
    await dead.close();
    const err = await rejection(new SecretsManagerSecrets(client).get('satchel/docs'));
    expect(err).not.toBeInstanceOf(MissingSecret);
  });
});

describe('bot secrets', () => {
  it('prefix bot secret names and keep each bot\'s secrets apart', async () => {
    const store = botSecrets(new SecretsManagerSecrets(sm.client()), 'satchel/');
    expect(await store.get('docs')).toBe('Bearer docs-value');
    const err = await rejection(store.get('fb-page'));
    expect(err).toMatchObject({ secretName: 'satchel/fb-page', problem: 'missing' });
    expect(sm.requests).toEqual({ 'satchel/docs': 1, 'satchel/fb-page': 1 });
  });

  it('local file secrets report a missing name the same way', async () => {
    const err = await rejection(new StaticSecrets({ a: '1' }).get('b'));
    expect(err).toBeInstanceOf(MissingSecret);
    expect(err).toMatchObject({ secretName: 'b', problem: 'missing' });
  });
});
