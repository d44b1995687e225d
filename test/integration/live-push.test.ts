import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LocalAgentAuth } from '../../local/agent-auth';
import { clock } from '../support/clock';
import { eventually, startTestRuntime } from '../support/runtime';
import { WebUser } from '../support/web-user';

/**
 * SPEC 10 on the local runtime: the same $connect authorizer, routes and Management API
 * calls as on AWS, over a real WebSocket on PORT at /socket.
 */
type Runtime = Awaited<ReturnType<typeof startTestRuntime>>;
type Frame = Record<string, any>;

let rt: Runtime;
const time = clock(Date.now());

beforeAll(async () => {
  rt = await startTestRuntime({ now: time.now });
}, 60_000);
afterAll(async () => {
  await rt?.stop();
});

const socketUrl = async (host = new URL(rt.urls.app).host): Promise<string> => {
  const res = await fetch(`http://${host}/web/bots/demo/config`);
  return ((await res.json()) as { socketUrl: string }).socketUrl;
};

/** Opens a socket; resolves with it and every frame it receives, or rejects with the upgrade's status. */
function connect(query: Record<string, string>): Promise<{ ws: WebSocket; frames: Frame[] }> {
  return socketUrl().then(
    (base) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`${base}?${new URLSearchParams(query)}`);
        const frames: Frame[] = [];
        ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
        ws.once('open', () => resolve({ ws, frames }));
        ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode })));
        ws.once('error', (err) => reject(err));
      }),
  );
}
const refusal = (query: Record<string, string>) => connect(query).then(({ ws }) => (ws.close(), 101), (err: { status?: number }) => err.status);

const agentToken = async (agentId: string, name: string): Promise<string> => {
  const res = await fetch(`${rt.urls.app}/local/agent-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agentId, name }) });
  return ((await res.json()) as { token: string }).token;
};
const asAgent = (token: string, path: string, method = 'GET', body?: unknown) =>
  fetch(`${rt.urls.app}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

const userFrames = (frames: Frame[]) => frames.filter((f) => f.type === 'messages');
const texts = (frames: Frame[]) => userFrames(frames).flatMap((f) => f.messages.map((m: Frame) => `${m.from}:${m.text ?? ''}`));
const agentFramesFor = (frames: Frame[], sessionId: string) => frames.filter((f) => f.type === 'conversation' && f.conversation.sessionId === sessionId);

describe('WebSocket (SPEC 10)', () => {
  it('gives clients a ws:// socketUrl on PORT with the host they used', async () => {
    const port = new URL(rt.urls.app).port;
    expect(await socketUrl(`127.0.0.1:${port}`)).toBe(`ws://127.0.0.1:${port}/socket`);
    expect(await socketUrl(`localhost:${port}`)).toBe(`ws://localhost:${port}/socket`);
  });

  it('allows the socket origin in the pages’ connect-src', async () => {
    const port = new URL(rt.urls.app).port;
    for (const page of ['/', '/agent']) {
      const res = await fetch(`http://localhost:${port}${page}`);
      expect(res.headers.get('content-security-policy')).toMatch(new RegExp(`connect-src [^;]*ws://localhost:${port}`));
    }
  });

  it('refuses missing, wrong and expired credentials, another session’s token and expired sessions at connect', async () => {
    const user = await WebUser.start(rt.urls.app, 'demo');
    const other = await WebUser.start(rt.urls.app, 'demo');
    expect(await refusal({})).toBe(401);
    expect(await refusal({ token: 'not-a-token' })).toBe(401);
    expect(await refusal({ token: user.token.slice(0, -2) + 'xx' })).toBe(401);
    expect(await refusal({ agentToken: 'not.a.jwt' })).toBe(401);
    // The token of another session than the one named.
    expect(await refusal({ token: other.token, sessionId: user.sessionId })).toBe(401);
    // An agent token past its expiry (same key as the runtime's, minted already expired).
    const auth = await LocalAgentAuth.load(rt.dataDir);
    const expired = await auth.mint({ agentId: 'old', name: 'Old' }, { ttlSeconds: -60 });
    expect(await refusal({ agentToken: expired.token })).toBe(401);
    // A session token is a session token: not an agent credential.
    expect(await refusal({ agentToken: user.token })).toBe(401);
    // The good ones get in.
    expect(await refusal({ token: user.token })).toBe(101);
    expect(await refusal({ token: user.token, sessionId: user.sessionId })).toBe(101);
    expect(await refusal({ agentToken: await agentToken('a-ok', 'Ok') })).toBe(101);

    // The session expires (demo bot: sessionTimeoutSeconds); its still-valid token is refused with 410.
    const late = await WebUser.start(rt.urls.app, 'demo');
    const bot = rt.deps.sessions;
    const session = (await bot.get(late.sessionId))!;
    time.advance((session.expiresAt + 1) * 1000 - time.now());
    try {
      expect(await refusal({ token: late.token })).toBe(410);
    } finally {
      // Back to the present, so the other tests' sessions live.
      time.advance(Date.now() - time.now());
    }
  });

  it('answers ping with pong', async () => {
    const user = await WebUser.start(rt.urls.app, 'demo');
    const { ws, frames } = await connect({ token: user.token });
    ws.send(JSON.stringify({ type: 'ping' }));
    await eventually(async () => (frames.some((f) => f.type === 'pong') ? true : undefined), 10_000, 'pong');
    ws.close();
  });

  it('pushes user, bot and agent messages to the right sockets only', async () => {
    const agentJwt = await agentToken('agent-push', 'Pat');
    const agent = await connect({ agentToken: agentJwt });
    const alice = await WebUser.start(rt.urls.app, 'demo', 'Alice');
    const bob = await WebUser.start(rt.urls.app, 'demo', 'Bob');
    // The greeting is written before the sockets open; the agents saw the new conversation.
    await alice.waitFor((m) => m.some((x) => x.from === 'bot'), 'greeting');
    await bob.waitFor((m) => m.some((x) => x.from === 'bot'), 'greeting');
    expect(agentFramesFor(agent.frames, alice.sessionId).length).toBeGreaterThan(0);
    const a = await connect({ token: alice.token });
    const b = await connect({ token: bob.token });
    const bobBefore = b.frames.length;
    // Pat opens Alice's conversation in the console; a second console (Quinn's) has nothing open.
    expect((await asAgent(agentJwt, `/agent/conversations/${alice.sessionId}`)).status).toBe(200);
    const other = await connect({ agentToken: await agentToken('agent-other', 'Quinn') });

    // A user's text: Alice's socket gets her own message (with its id) and the bot's reply.
    await alice.send({ text: 'something the bot does not understand' });
    await eventually(async () => (texts(a.frames).some((t) => t.startsWith('bot:')) ? true : undefined), 15_000, 'bot reply on the socket');
    const pushed = userFrames(a.frames).flatMap((f) => f.messages);
    expect(pushed.find((m: Frame) => m.from === 'user')).toMatchObject({ text: 'something the bot does not understand', id: expect.any(String) });
    for (const f of userFrames(a.frames)) expect(f).toMatchObject({ sessionId: alice.sessionId, cursor: expect.any(String), status: expect.any(String) });
    // What was pushed is what the HTTP route returns, the same objects.
    const viaHttp = await alice.messages();
    for (const m of pushed) expect(viaHttp).toContainEqual(m);
    // Bob's socket heard nothing of Alice.
    expect(b.frames.slice(bobBefore).filter((f) => f.sessionId === alice.sessionId)).toEqual([]);
    // The agent console got the user's message and the bot's reply as conversation frames.
    await eventually(
      async () => (agentFramesFor(agent.frames, alice.sessionId).flatMap((f) => f.messages).some((m: Frame) => m.from === 'bot' && m.text !== undefined && pushed.some((p: Frame) => p.id === m.id && p.from === 'bot')) ? true : undefined),
      10_000,
      'bot reply on the agent socket',
    );
    const agentMsgs = agentFramesFor(agent.frames, alice.sessionId).flatMap((f) => f.messages);
    expect(agentMsgs.some((m: Frame) => m.from === 'user' && m.text === 'something the bot does not understand')).toBe(true);
    expect(agentFramesFor(agent.frames, alice.sessionId).at(-1)!.conversation).toMatchObject({ sessionId: alice.sessionId, user: { name: 'Alice' }, lastMessage: expect.any(Object) });
    // Deliberate (issue 11 point 6): a console that does not have the conversation open gets
    // none of the bot's chatter; its list picks it up at the next read.
    expect(agentFramesFor(other.frames, alice.sessionId)).toEqual([]);

    // Takeover: Alice gets the start message, agents see the status change.
    const aliceBefore = a.frames.length;
    expect((await asAgent(agentJwt, `/agent/conversations/${alice.sessionId}/takeover`, 'POST')).status).toBe(200);
    await eventually(async () => (texts(a.frames.slice(aliceBefore)).some((t) => t.includes('You are now chatting with Pat')) ? true : undefined), 10_000, 'start message');
    await eventually(
      async () => (agentFramesFor(agent.frames, alice.sessionId).some((f) => f.conversation.status === 'taken_over' && f.conversation.operator?.name === 'Pat') ? true : undefined),
      10_000,
      'takeover on the agent socket',
    );
    // Every console's list shows a takeover live, open or not.
    await eventually(
      async () => (agentFramesFor(other.frames, alice.sessionId).some((f) => f.conversation.status === 'taken_over') ? true : undefined),
      10_000,
      'takeover on the other console',
    );
    // An agent message reaches Alice (and only Alice).
    expect((await asAgent(agentJwt, `/agent/conversations/${alice.sessionId}/messages`, 'POST', { text: 'Hello Alice' })).status).toBe(202);
    await eventually(async () => (texts(a.frames).includes('agent:Hello Alice') ? true : undefined), 10_000, 'agent message');
    // Release: the bot asks its menu again, with the buttons (issue 14), in the frame that
    // tells Alice and the agents the status changed.
    const aliceBeforeRelease = a.frames.length;
    expect((await asAgent(agentJwt, `/agent/conversations/${alice.sessionId}/release`, 'POST')).status).toBe(200);
    await eventually(
      async () => (agentFramesFor(agent.frames, alice.sessionId).some((f) => f.conversation.operator === null && f.conversation.status !== 'taken_over' && f.messages.some((m: Frame) => m.from === 'bot' && m.buttons?.length === 4)) ? true : undefined),
      10_000,
      'release on the agent socket',
    );
    await eventually(
      async () => (agentFramesFor(other.frames, alice.sessionId).some((f) => f.conversation.operator === null && f.conversation.status !== 'taken_over') ? true : undefined),
      10_000,
      'release on the other console',
    );
    const reasked = await eventually(async () => userFrames(a.frames.slice(aliceBeforeRelease)).find((f) => f.messages.length > 0), 10_000, 'menu on the user socket');
    expect(reasked.status).not.toBe('taken_over');
    expect(reasked.messages.map((m: Frame) => [m.from, m.text, m.buttons?.map((b: Frame) => b.label)])).toEqual([
      ['bot', 'Hi! I am the Satchel demo bot. What would you like to do?', ['Tell me my name', 'Send me a file', 'Send me a sample document', 'Talk to a person']],
    ]);
    expect(b.frames.slice(bobBefore).filter((f) => f.sessionId === alice.sessionId)).toEqual([]);
    expect(texts(b.frames).some((t) => t.includes('Hello Alice'))).toBe(false);
    for (const s of [a, b, agent, other]) s.ws.close();
  });

  it('ends a wait when nobody is online any more and the no-agents interaction runs, and pushes the status (issue 14)', async () => {
    const agentJwt = await agentToken('agent-wait', 'Wes');
    expect((await asAgent(agentJwt, '/agent/conversations')).status).toBe(200); // Wes is online for a minute
    const user = await WebUser.start(rt.urls.app, 'demo', 'Wanda');
    await user.waitFor((m) => m.some((x) => x.from === 'bot'), 'greeting');
    const { ws, frames } = await connect({ token: user.token });
    await user.send({ buttonIndex: 3 }); // Talk to a person
    await eventually(async () => (userFrames(frames).some((f) => f.status === 'waiting_for_agent') ? true : undefined), 10_000, 'waiting status');
    expect(texts(frames)).toContain('bot:Finding someone for you...');

    time.advance(61_000); // Wes's console closed a minute ago: nobody is online
    try {
      const before = frames.length;
      await user.send({ buttonIndex: 3 });
      const frame = await eventually(async () => userFrames(frames.slice(before)).find((f) => f.messages.some((m: Frame) => m.from === 'bot')), 10_000, 'no-agents reply');
      expect(frame.status).toBe('live');
      expect(frame.messages.filter((m: Frame) => m.from === 'bot').map((m: Frame) => m.text)).toEqual([
        'Nobody is online right now; the team will get your files by email.',
        'Anything else?',
      ]);
      expect((await rt.deps.sessions.get(user.sessionId))?.waitingForAgentSince).toBeUndefined();
    } finally {
      time.advance(-61_000);
      ws.close();
    }
  });

  it('forgets a connection the Management API reports gone, and a closed one', async () => {
    const user = await WebUser.start(rt.urls.app, 'demo');
    const { ws } = await connect({ token: user.token });
    // The user's connections are kept on the session record (see table-layout.ts).
    const open = async () => (await rt.deps.sessions.get(user.sessionId))?.sockets?.size ?? 0;
    await eventually(async () => ((await open()) > 0 ? true : undefined), 5_000, 'connection record');
    ws.close();
    await eventually(
      async () => ((await open()) > 0 ? undefined : true),
      5_000,
      'connection record removed on $disconnect',
    );
  });
});
