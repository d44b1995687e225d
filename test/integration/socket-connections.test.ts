import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDocumentClient } from '../../shared/adapters/clients';
import { SocketConnectionStore } from '../../shared/adapters/socket-connections';
import { AGENT_SOCKETS_KEY, META, sessionPk } from '../../shared/adapters/table-layout';
import { newSession } from '../../shared/domain/session';
import { freshDeps, startTestEmulators, testBot, type TestEmulators } from '../support/emulators';

/** Where socket connections live (table-layout.ts): a user's on the session record, agents' on one item. */
const bot = testBot({ start: 'hi', interactions: { hi: { type: 'message', text: 'Hi' } } });

let emu: TestEmulators;
beforeAll(async () => {
  emu = await startTestEmulators();
});
afterAll(async () => emu?.close());

describe('socket connection records', () => {
  it('keeps a user’s connections on the session record, so the record a writer holds carries them', async () => {
    const deps = await freshDeps(emu, { bots: [bot] });
    const store = new SocketConnectionStore(dynamoDocumentClient({ DYNAMODB_ENDPOINT: emu.dynamo.url, AWS_REGION: 'us-east-1' }), deps.sessions.tableName);
    const s = newSession({ id: 'sess-1', bot, channel: 'web', userId: 'web:sess-1', now: Date.now() });
    await deps.sessions.create(s);
    await store.add('c1', { kind: 'user', sessionId: s.id }, 0);
    await store.add('c2', { kind: 'user', sessionId: s.id }, 0);
    expect([...((await deps.sessions.get(s.id))!.sockets ?? [])].sort()).toEqual(['c1', 'c2']);
    const { session } = await deps.sessions.getForTurn(s.id, Math.floor(Date.now() / 1000));
    expect([...(session!.sockets ?? [])].sort()).toEqual(['c1', 'c2']);
    await store.remove('c1', { kind: 'user', sessionId: s.id });
    expect(await store.ofSession(s.id)).toEqual(['c2']);
  });

  it('never brings back a session record that expiry deleted', async () => {
    const deps = await freshDeps(emu, { bots: [bot] });
    const db = dynamoDocumentClient({ DYNAMODB_ENDPOINT: emu.dynamo.url, AWS_REGION: 'us-east-1' });
    const store = new SocketConnectionStore(db, deps.sessions.tableName);
    await store.add('late', { kind: 'user', sessionId: 'gone' }, 0);
    await store.remove('late', { kind: 'user', sessionId: 'gone' });
    const out = await db.send(new GetCommand({ TableName: deps.sessions.tableName, Key: { pk: sessionPk('gone'), sk: META } }));
    expect(out.Item).toBeUndefined();
  });

  it('lists agents’ consoles within their time, read with the session in one request, and clears stale entries on connect', async () => {
    const deps = await freshDeps(emu, { bots: [bot] });
    const db = dynamoDocumentClient({ DYNAMODB_ENDPOINT: emu.dynamo.url, AWS_REGION: 'us-east-1' });
    const store = new SocketConnectionStore(db, deps.sessions.tableName);
    const now = Math.floor(Date.now() / 1000);
    await store.add('old', { kind: 'agent', agentId: 'a', name: 'A' }, now - 10);
    await store.add('ann', { kind: 'agent', agentId: 'ann', name: 'Ann' }, now + 3600);
    await store.add('bob', { kind: 'agent', agentId: 'bob', name: 'Bob' }, now + 3600);
    expect((await store.ofAgents(now)).sort()).toEqual(['ann', 'bob']);
    // The entry whose time ran out was removed when the next console connected.
    const item = (await db.send(new GetCommand({ TableName: deps.sessions.tableName, Key: AGENT_SOCKETS_KEY, ConsistentRead: true }))).Item!;
    expect(Object.keys(item).filter((k) => k.startsWith('conn#')).sort()).toEqual(['conn#ann', 'conn#bob']);
    const s = newSession({ id: 'sess-2', bot, channel: 'web', userId: 'web:sess-2', now: Date.now() });
    await deps.sessions.create(s);
    const read = await deps.sessions.getForTurn(s.id, now);
    expect(read.session?.id).toBe(s.id);
    expect(read.agentConnections.sort()).toEqual(['ann', 'bob']);
    await store.remove('bob', { kind: 'agent' });
    expect(await store.ofAgents(now)).toEqual(['ann']);
    expect((await deps.sessions.getForTurn('no-such-session', now)).session).toBeUndefined();
  });

  it('lets a session or an agent hold at most 5 sockets, so one client cannot make every push fan out without bound', async () => {
    const deps = await freshDeps(emu, { bots: [bot] });
    const store = new SocketConnectionStore(dynamoDocumentClient({ DYNAMODB_ENDPOINT: emu.dynamo.url, AWS_REGION: 'us-east-1' }), deps.sessions.tableName);
    const s = newSession({ id: 'sess-3', bot, channel: 'web', userId: 'web:sess-3', now: Date.now() });
    await deps.sessions.create(s);
    const until = Math.floor(Date.now() / 1000) + 3600;
    const user = [];
    for (let i = 0; i < 7; i++) user.push(await store.add(`u${i}`, { kind: 'user', sessionId: s.id }, until));
    expect(user).toEqual(['added', 'added', 'added', 'added', 'added', 'full', 'full']);
    const agent = [];
    for (let i = 0; i < 6; i++) agent.push(await store.add(`a${i}`, { kind: 'agent', agentId: 'ann', name: 'Ann' }, until));
    expect(agent).toEqual(['added', 'added', 'added', 'added', 'added', 'full']);
    // Another agent is not held back by Ann's consoles.
    expect(await store.add('b0', { kind: 'agent', agentId: 'bob', name: 'Bob' }, until)).toBe('added');
    // A socket closed frees its place.
    await store.remove('u0', { kind: 'user', sessionId: s.id });
    expect(await store.add('u9', { kind: 'user', sessionId: s.id }, until)).toBe('added');
  });
});
