import { describe, expect, it } from 'vitest';
import { tellUserEventNotProcessed, type NoticeDeps } from '../../shared/app/event-not-processed';

/** Deps that fail the test if touched: events with no user message to speak of read nothing. */
const untouchable = new Proxy({} as NoticeDeps, {
  get: (_t, name) => {
    throw new Error(`touched deps.${String(name)}`);
  },
});

describe('telling a user an event was not processed', () => {
  it('has nothing to say for a session start or a held delivery (no message of the user’s)', async () => {
    expect(await tellUserEventNotProcessed(untouchable, { type: 'session_started', sessionId: 's', eventId: 'e1' })).toBe('not_needed');
    expect(await tellUserEventNotProcessed(untouchable, { type: 'deliver', sessionId: 's', eventId: 'e2' })).toBe('not_needed');
    await expect(tellUserEventNotProcessed(untouchable, { type: 'user_message', sessionId: 's', messageSeq: 3, eventId: 'e3' })).rejects.toThrow('touched deps.sessions');
  });
});
