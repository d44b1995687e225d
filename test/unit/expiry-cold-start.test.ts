import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config';
import { EXPIRY_CONFIG } from '../../functions/expiry/wiring';

const loadStorageConfig = (env: Record<string, string>) => loadConfig(EXPIRY_CONFIG, env);

describe('expiry function configuration', () => {
  it('needs only the table and bucket names, not bots or the signing key its role cannot read', () => {
    const config = loadStorageConfig({ TABLE_NAME: 't', BUCKET_NAME: 'b' });
    expect(config).toMatchObject({ TABLE_NAME: 't', BUCKET_NAME: 'b' });
    expect(() => loadStorageConfig({ TABLE_NAME: 't' })).toThrow(/BUCKET_NAME/);
  });

  it('loads the handler module and builds its deps from that environment alone', async () => {
    const saved = { ...process.env };
    try {
      for (const k of ['BOTS_DIR', 'SIGNING_KEY_SECRET', 'PUBLIC_BASE_URL']) delete process.env[k];
      Object.assign(process.env, { TABLE_NAME: 't', BUCKET_NAME: 'b', AWS_REGION: 'eu-west-1' });
      const { handler } = await import('../../functions/expiry/index');
      // A record that is not a TTL deletion: the handler builds its deps, then ignores it.
      await expect(handler({ Records: [{ eventName: 'INSERT' }] } as never)).resolves.toEqual({ batchItemFailures: [] });
    } finally {
      process.env = saved;
    }
  });
});
