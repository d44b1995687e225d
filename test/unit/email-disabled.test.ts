import { describe, expect, it, vi } from 'vitest';
import { actionsWiring } from '../../functions/actions/wiring';
import type { Session } from '../../shared/domain/session';
import { BotRegistry } from '../../shared/bots/loader';
import { BotSchema } from '../../shared/bots/schema';
import { logger } from '../../shared/logger';

/**
 * A deployment without a real senderEmail has no mail queue (cdk synth warns): actions gets
 * no MAIL_QUEUE_URL. A file the user sends is then kept as usual and logged as not emailed,
 * instead of failing the turn and ending in a dead-letter queue.
 */
const ENV = {
  TABLE_NAME: 't',
  BUCKET_NAME: 'b',
  BOTS_DIR: '/nonexistent',
  PUBLIC_BASE_URL: 'https://chat.acme-claims.com',
  SIGNING_KEY_SECRET: 'k',
  AWS_REGION: 'eu-west-1',
};
const bot = BotSchema.parse({
  id: 'claims',
  name: 'Claims',
  attachments: { recipientEmail: 'claims@acme-claims.com' },
  start: 'hi',
  interactions: { hi: { type: 'message', text: 'Hi' } },
});
const session = { id: 's1', botId: 'claims', channel: 'web', userId: 'u', createdAt: 0, lastActivityAt: 0, expiresAt: 9e9, flow: {}, attachmentCount: 0 } as unknown as Session;
const file = { id: 'f1', fileName: 'claim.pdf', contentType: 'application/pdf', size: 3 } as never;

describe('actions with email disabled (no MAIL_QUEUE_URL)', () => {
  const world = () =>
    actionsWiring(ENV, { bots: new BotRegistry([bot]), secrets: { get: async () => 'x' } as never, tokens: {} as never, botSecrets: new Map() as never, live: undefined })();

  it('keeps the turn going and logs each file it would have emailed', async () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    try {
      const { ports } = await world();
      await expect(ports.onUserFile!(session, file)).resolves.toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![0]).toMatch(/email is disabled/);
      expect(warn.mock.calls[0]![1]).toMatchObject({ sessionId: 's1', attachmentId: 'f1' });
    } finally {
      warn.mockRestore();
    }
  });

  it('logs nothing for a bot without recipientEmail', async () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    try {
      const { ports } = await world();
      await ports.onUserFile!({ ...session, botId: 'other' }, file);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});
