import { describe, expect, it } from 'vitest';
import { parseBot } from '../../shared/bots/loader';
import { channelNamed, channelRoutes } from '../../shared/channels/registry';
import { buttonForText, fitsMms, partsFor, splitText } from '../../shared/channels/twilio/outbound';
import { isValidTwilioSignature, signedString, twilioSignature } from '../../shared/channels/twilio/signature';
import { firstValues, formParams, parseWebhook } from '../../shared/channels/twilio/webhook';
import type { AttachmentMeta, TranscriptMessage } from '../../shared/domain/transcript';
import { twilioFixtureText, twilioForm } from '../support/twilio-api';

/** The worked example of twilio.com/docs/usage/webhooks/webhooks-security. */
const DOC_URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const DOC_PARAMS: [string, string][] = [
  ['CallSid', 'CA1234567890ABCDE'],
  ['Caller', '+12349013030'],
  ['Digits', '1234'],
  ['From', '+12349013030'],
  ['To', '+18005551212'],
];
const DOC_TOKEN = '12345';
const DOC_SIGNATURE = '0/KCTR6DLpKmkAf8muzZqo1nDgQ=';

describe('Twilio request signatures', () => {
  it("matches the documented example's signature, whatever order the parameters come in", () => {
    expect(twilioSignature(DOC_TOKEN, DOC_URL, DOC_PARAMS)).toBe(DOC_SIGNATURE);
    expect(twilioSignature(DOC_TOKEN, DOC_URL, [...DOC_PARAMS].reverse())).toBe(DOC_SIGNATURE);
    expect(isValidTwilioSignature(DOC_TOKEN, DOC_SIGNATURE, DOC_URL, DOC_PARAMS)).toBe(true);
  });

  it('signs the URL followed by each name and value in name order', () => {
    expect(signedString('https://x.test/a', [['b', '2'], ['a', '1'], ['B', '0']])).toBe('https://x.test/aB0a1b2');
    // A repeated name: every value, in value order.
    expect(signedString('u', [['m', 'z'], ['m', 'a']])).toBe('umamz');
  });

  it('refuses another URL, token, parameter set or a missing header', () => {
    expect(isValidTwilioSignature(DOC_TOKEN, DOC_SIGNATURE, 'https://mycompany.com/myapp.php?foo=1&bar=3', DOC_PARAMS)).toBe(false);
    expect(isValidTwilioSignature(DOC_TOKEN, DOC_SIGNATURE, 'http://mycompany.com/myapp.php?foo=1&bar=2', DOC_PARAMS)).toBe(false);
    expect(isValidTwilioSignature('54321', DOC_SIGNATURE, DOC_URL, DOC_PARAMS)).toBe(false);
    expect(isValidTwilioSignature(DOC_TOKEN, DOC_SIGNATURE, DOC_URL, [...DOC_PARAMS, ['Extra', '']])).toBe(false);
    expect(isValidTwilioSignature(DOC_TOKEN, undefined, DOC_URL, DOC_PARAMS)).toBe(false);
    expect(isValidTwilioSignature(DOC_TOKEN, '', DOC_URL, DOC_PARAMS)).toBe(false);
    expect(isValidTwilioSignature('', twilioSignature('', DOC_URL, DOC_PARAMS), DOC_URL, DOC_PARAMS)).toBe(false);
  });
});

describe('Twilio webhooks', () => {
  it('reads the documented incoming SMS: From is the user, MessageSid the message id', () => {
    const params = formParams(Buffer.from(twilioFixtureText('inbound-sms.form')));
    expect(parseWebhook(firstValues(params))).toEqual({
      kind: 'message',
      event: { user: '+14155552671', messageId: 'SM1b6d1c9d6f2e4f0a8d7c3b2a19e8f7a6', text: 'Hello', media: [] },
    });
  });

  it('reads the documented MMS: each MediaUrl with its type and a generated name with that type\'s extension', () => {
    const parsed = parseWebhook(firstValues(twilioForm('inbound-mms.form')));
    expect(parsed).toEqual({
      kind: 'message',
      event: {
        user: '+14155552671',
        messageId: 'MM8c2f4a6b1d3e5f7a9b0c2d4e6f8a1b3c',
        media: [
          {
            kind: 'mms',
            ref: 'https://api.twilio.com/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages/MM8c2f4a6b1d3e5f7a9b0c2d4e6f8a1b3c/Media/ME0f1e2d3c4b5a69788796a5b4c3d2e1f0',
            fileName: 'mms-6f8a1b3c-1.jpg',
            contentType: 'image/jpeg',
          },
        ],
      },
    });
  });

  it('ignores status callbacks and empty messages', () => {
    expect(parseWebhook(firstValues(twilioForm('status-callback.form')))).toMatchObject({ kind: 'ignored' });
    const empty = { ...firstValues(twilioForm('inbound-sms.form')), Body: '  ' };
    expect(parseWebhook(empty)).toMatchObject({ kind: 'ignored' });
  });

  it('calls a message without a SID or sender, or with broken media fields, invalid', () => {
    const base = firstValues(twilioForm('inbound-sms.form'));
    const { MessageSid: _m, SmsMessageSid: _s, ...noSid } = base;
    const { From: _f, ...noFrom } = base;
    for (const p of [noSid, noFrom, { ...base, NumMedia: '-1' }, { ...base, NumMedia: '1.5' }, { ...base, NumMedia: '2', MediaUrl0: 'https://a.test/x' }]) {
      expect(parseWebhook(p)).toMatchObject({ kind: 'invalid' });
    }
  });
});

const file = (fileName: string, contentType: string, size: number): AttachmentMeta => ({ id: fileName, fileName, contentType, size });
const links = { link: (a: AttachmentMeta) => `https://sat.example/files/${a.id}` };
const message = (m: Partial<TranscriptMessage>): TranscriptMessage => ({ seq: 1, at: 0, from: 'bot', ...m }) as TranscriptMessage;

describe('Twilio sends', () => {
  it('lists buttons as numbered options under the text', () => {
    expect(partsFor(message({ text: 'Continue?', buttons: [{ label: 'Yes' }, { label: 'No' }] }), links)).toEqual([{ body: 'Continue?\n\n1. Yes\n2. No' }]);
    expect(partsFor(message({ buttons: [{ label: 'Yes' }, { label: 'No' }] }), links)).toEqual([{ body: '1. Yes\n2. No' }]);
  });

  it('sends files within MMS limits as MediaUrl and larger ones as a link', () => {
    const mb = 1024 * 1024;
    const parts = partsFor(
      message({
        attachments: [file('a.jpg', 'image/jpeg', 5 * mb), file('b.png', 'image/png', 5 * mb + 1), file('c.pdf', 'application/pdf', 500 * 1024), file('d.pdf', 'application/pdf', 500 * 1024 + 1), file('e.gif', 'image/gif', mb)],
      }),
      links,
    );
    expect(parts).toEqual([
      { body: 'a.jpg', mediaUrl: 'https://sat.example/files/a.jpg' },
      { body: 'b.png: https://sat.example/files/b.png' },
      { body: 'c.pdf', mediaUrl: 'https://sat.example/files/c.pdf' },
      { body: 'd.pdf: https://sat.example/files/d.pdf' },
      { body: 'e.gif', mediaUrl: 'https://sat.example/files/e.gif' },
    ]);
    expect(fitsMms({ contentType: 'IMAGE/JPEG; charset=binary', size: 4 * mb })).toBe(true);
  });

  it('splits text over 1600 characters at a space or line break, never inside a character', () => {
    const words = Array.from({ length: 500 }, (_, i) => `word${i}`).join(' ');
    const pieces = splitText(words);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.every((p) => p.length <= 1600 && !p.startsWith(' ') && !p.endsWith(' '))).toBe(true);
    expect(pieces.join(' ')).toBe(words);
    // No spaces: cut at the limit, moving back rather than splitting a surrogate pair.
    const emoji = `${'a'.repeat(1599)}😀${'b'.repeat(10)}`;
    const cut = splitText(emoji);
    expect(cut).toEqual([`${'a'.repeat(1599)}`, `😀${'b'.repeat(10)}`]);
    expect(splitText('short')).toEqual(['short']);
    expect(partsFor(message({ text: 'x'.repeat(3201) }), links).map((p) => p.body.length)).toEqual([1600, 1600, 1]);
  });

  it('reads a reply as a button by its number or label, case and spaces aside', () => {
    const labels = ['Yes', 'No', 'Talk to a person'];
    expect(buttonForText('1', labels)).toBe(0);
    expect(buttonForText(' 2. ', labels)).toBe(1);
    expect(buttonForText('3)', labels)).toBe(2);
    expect(buttonForText('  talk  TO a Person ', labels)).toBe(2);
    expect(buttonForText('no', labels)).toBe(1);
    for (const t of ['0', '4', 'maybe', 'yes please', '1 2', '']) expect(buttonForText(t, labels), t).toBeUndefined();
  });
});

describe('Twilio in the registry and bot files', () => {
  it('serves POST /channels/twilio and checks a bot\'s channels.twilio', () => {
    expect(channelRoutes().filter((r) => r.channel === 'twilio').map((r) => `${r.method} ${r.path}`)).toEqual(['POST /channels/twilio']);
    expect(channelNamed('twilio')?.label).toBe('SMS/MMS');
    const bot = (twilio: unknown) => ({
      id: 'b',
      name: 'B',
      sessionTimeoutSeconds: 60,
      attachments: { allowedTypes: ['pdf'], sizeLimitBytes: 1000 },
      channels: { twilio },
      start: 'w',
      interactions: { w: { type: 'message', text: 'hi' } },
    });
    const good = { accountSid: `AC${'a'.repeat(32)}`, authToken: { secret: 't' }, phoneNumber: '+15005550006' };
    expect(() => parseBot(JSON.stringify(bot(good)), 'b.json')).not.toThrow();
    for (const bad of [{ ...good, accountSid: 'AC123' }, { ...good, phoneNumber: '5005550006' }, { ...good, authToken: 'plain' }, { ...good, extra: 1 }]) {
      expect(() => parseBot(JSON.stringify(bot(bad)), 'b.json'), JSON.stringify(bad)).toThrow();
    }
  });
});
