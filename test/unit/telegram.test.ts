import { describe, expect, it } from 'vitest';
import { channelConfigSchemas, CHANNELS, channelNamed, channelRoutes } from '../../shared/channels/registry';
import { partsFor, uploadMethod } from '../../shared/channels/telegram/outbound';
import { buttonIndexOf, callbackData, inboundEvent, Update } from '../../shared/channels/telegram/update';
import { parseBot, channelSecretAdvice, channelSecretProblems, secretNames } from '../../shared/bots/loader';
import type { TranscriptMessage } from '../../shared/domain/transcript';
import { telegramFixture } from '../support/telegram-api';
import { telegramReceiver } from '../../shared/channels/telegram/receiver';
import { InvalidSignature } from '../../shared/domain/errors';
import { captureLogs } from '../support/logs';

const parse = (name: string) => Update.parse(telegramFixture(name));

describe('Telegram updates', () => {
  it('reads a text message: the chat is the user, update_id the message id, the sender the user name', () => {
    expect(inboundEvent(parse('update-text.json'), 'bot-a')).toEqual({
      event: { botId: 'bot-a', account: 'bot-a', messageId: '815000001', user: '424242', text: 'hello', media: [], userName: 'Grace Hopper' },
    });
  });

  it('reads a document with its file_id, name, type and announced size', () => {
    expect(inboundEvent(parse('update-document.json'), 'b').event?.media).toEqual([
      { kind: 'document', ref: 'BQACAgQAAxkBAAIBdocument', fileName: 'claim.pdf', contentType: 'application/pdf', size: 1024 },
    ]);
  });

  it('takes the largest size of a photo, whatever the order', () => {
    const update = parse('update-photo.json');
    expect(inboundEvent(update, 'b').event?.media).toEqual([{ kind: 'photo', ref: 'AgACAgQAAxkBAAIBphotoLarge', contentType: 'image/jpeg', size: 60000 }]);
    update.message!.photo!.reverse();
    expect(inboundEvent(update, 'b').event?.media[0]?.ref).toBe('AgACAgQAAxkBAAIBphotoLarge');
  });

  it('reads a button press from callback_data and keeps the query id to answer it', () => {
    expect(inboundEvent(parse('update-callback-query.json'), 'b')).toEqual({
      event: { botId: 'b', account: 'b', messageId: '815000004', user: '424242', buttonIndex: 0, media: [], userName: 'Grace' },
      callbackQueryId: '4382bfdwdsb323b2d9',
    });
  });

  it('answers but ignores a press whose data is not ours, and ignores edits and membership changes', () => {
    const foreign = parse('update-callback-query.json');
    foreign.callback_query!.data = 'SOMETHING_ELSE';
    expect(inboundEvent(foreign, 'b')).toEqual({ callbackQueryId: '4382bfdwdsb323b2d9' });
    expect(inboundEvent(parse('update-edited-message.json'), 'b')).toEqual({});
    expect(inboundEvent(parse('update-member.json'), 'b')).toEqual({});
  });

  it('keeps callback_data within 64 bytes and maps only its own format back', () => {
    for (let i = 0; i < 100; i++) expect(Buffer.byteLength(callbackData(i))).toBeLessThanOrEqual(64);
    expect(buttonIndexOf(callbackData(12))).toBe(12);
    expect(buttonIndexOf('b:x')).toBeUndefined();
    expect(buttonIndexOf('b:123')).toBeUndefined();
    expect(buttonIndexOf(undefined)).toBeUndefined();
  });

  it('refuses a body without a numeric update_id', () => {
    expect(Update.safeParse({ message: { text: 'x' } }).success).toBe(false);
    expect(Update.safeParse({ update_id: '7' }).success).toBe(false);
  });
});

describe('Telegram sends', () => {
  const message = (m: Partial<TranscriptMessage>): TranscriptMessage => ({ id: 'm', seq: 1, from: 'bot', at: 0, ...m }) as TranscriptMessage;

  it('splits long text at 4096 characters and hangs the keyboard on the last text', () => {
    const parts = partsFor(message({ text: 'x'.repeat(5000), buttons: [{ label: 'Yes' }, { label: 'No' }] }));
    expect(parts.map((p) => (p.method === 'sendMessage' ? p.text.length : p.method))).toEqual([4096, 904]);
    expect(parts[0]).not.toHaveProperty('reply_markup');
    expect(parts[1]).toMatchObject({ reply_markup: { inline_keyboard: [[{ text: 'Yes', callback_data: 'b:0' }], [{ text: 'No', callback_data: 'b:1' }]] } });
  });

  it('uploads jpeg and png up to 10 MB as photos and everything else as documents, after the text', () => {
    const file = (contentType: string, size: number) => ({ id: contentType, fileName: 'f', contentType, size });
    expect(uploadMethod(file('image/jpeg', 1000))).toBe('sendPhoto');
    expect(uploadMethod(file('image/png', 10 * 1024 * 1024 + 1))).toBe('sendDocument');
    expect(uploadMethod(file('image/gif', 10))).toBe('sendDocument');
    expect(uploadMethod(file('application/pdf', 10))).toBe('sendDocument');
    const parts = partsFor(message({ text: 'Here', attachments: [file('application/pdf', 10)] }));
    expect(parts.map((p) => p.method)).toEqual(['sendMessage', 'sendDocument']);
  });
});

describe('the channel registry', () => {
  it('lists each channel once, with its webhook routes and its schema entry', () => {
    const names = CHANNELS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['messenger', 'telegram']));
    expect(Object.keys(channelConfigSchemas).sort()).toEqual([...names].sort());
    expect(channelRoutes().map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining(['GET /channels/messenger', 'POST /channels/messenger', 'POST /channels/telegram/{botId}']),
    );
    expect(channelNamed('telegram')?.limits.inboundMaxBytes).toBe(20 * 1024 * 1024);
    expect(channelNamed('web')).toBeUndefined();
  });

  it('validates channels.telegram in bot files, and names its secrets', () => {
    const bot = (telegram: unknown) =>
      JSON.stringify({ id: 'tg', name: 'T', channels: { web: {}, telegram }, start: 'a', interactions: { a: { type: 'message', text: 'hi' } } });
    const ok = parseBot(bot({ botToken: { secret: 'tg-token' }, secretToken: { secret: 'tg-secret' } }), 'tg.json');
    expect(secretNames(ok)).toEqual(['tg-secret', 'tg-token']);
    expect(() => parseBot(bot({ botToken: { secret: 'tg-token' } }), 'tg.json')).toThrow(/channels\.telegram\.secretToken/);
    expect(() => parseBot(bot({ botToken: 'inline-token', secretToken: { secret: 's' } }), 'tg.json')).toThrow(/channels\.telegram\.botToken/);
  });

  it("reports a Telegram secret token Telegram would refuse (1-256 of A-Za-z0-9_-), and advises against one shorter than 16 characters", () => {
    const bot = parseBot(
      JSON.stringify({ id: 'tg', name: 'T', channels: { telegram: { botToken: { secret: 'tok' }, secretToken: { secret: 'sec' } } }, start: 'a', interactions: { a: { type: 'message', text: 'hi' } } }),
      'tg.json',
    );
    const problems = (secret: string) => channelSecretProblems(bot, (name) => (name === 'sec' ? secret : '123:abc'));
    expect(problems('good_Token-1')).toEqual([]);
    expect(problems('x'.repeat(256))).toEqual([]);
    for (const bad of ['', 'has space', 'x'.repeat(257), 'ümlaut', 'a.b']) expect(problems(bad), bad).toHaveLength(1);
    // SPEC 12 allows 1-256 characters: a short one works, start-up only advises against it.
    const advice = (secret: string) => channelSecretAdvice(bot, (name) => (name === 'sec' ? secret : '123:abc'));
    expect(advice('good_Token-1')).toEqual([expect.stringMatching(/Bot "tg" secret "sec" \(channels\.telegram\): .*shorter than 16 characters/)]);
    expect(advice('x'.repeat(15))).toHaveLength(1);
    expect(advice('x'.repeat(16))).toEqual([]);
    expect(advice('has space')).toEqual([]); // refused above, not advised
    expect(problems('a.b')[0]).toMatch(/Bot "tg" secret "sec" \(channels\.telegram\)/);
  });
});

describe('Telegram webhook secret token', () => {
  const receiveWith = (stored: string, given: string) =>
    telegramReceiver.receive(
      {
        method: 'POST',
        pathParameters: { botId: 'tg' },
        query: {},
        headers: { 'x-telegram-bot-api-secret-token': given },
        rawBody: Buffer.from(JSON.stringify(telegramFixture('update-text.json'))),
        publicUrl: 'https://example.test/channels/telegram/tg',
      },
      { bots: [{ botId: 'tg', config: { botToken: { secret: 'tok' }, secretToken: { secret: 'sec' } } }], secret: async () => stored, apiUrl: 'http://127.0.0.1:9' },
    );

  it('takes an update whose header matches the stored token, and refuses one that does not', async () => {
    expect((await receiveWith('x'.repeat(16), 'x'.repeat(16))).kind).toBe('events');
    await expect(receiveWith('x'.repeat(16), 'x'.repeat(15))).rejects.toBeInstanceOf(InvalidSignature);
  });

  it('takes updates with a short stored token (SPEC 12 allows it) but warns once that it is weak', async () => {
    const lines = await captureLogs(async () => {
      expect((await receiveWith('short-secret', 'short-secret')).kind).toBe('events');
      expect((await receiveWith('short-secret', 'short-secret')).kind).toBe('events');
      await expect(receiveWith('short-secret', 'short-secreT')).rejects.toBeInstanceOf(InvalidSignature);
    });
    const weak = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.alarm === 'WeakSecretToken');
    expect(weak).toHaveLength(1);
    expect(weak[0]).toMatchObject({ level: 'WARN', botId: 'tg' });
  });
});
