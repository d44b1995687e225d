import { describe, expect, it } from 'vitest';
import { MAX_TEXT_CHARS, attachmentKind, sendsFor } from '../../shared/channels/messenger/outbound';
import { isValidSignature, secretsEqual, signatureFor } from '../../shared/channels/messenger/signature';
import { WebhookBody, buttonIndexOf, inboundMessages, messageEventId, pageIdsIn } from '../../shared/channels/messenger/webhook';
import type { TranscriptMessage } from '../../shared/domain/transcript';

describe('Messenger signature', () => {
  const body = Buffer.from('{"object":"page","entry":[]}');

  it('accepts the HMAC-SHA256 of the raw body with the app secret, in either hex case', () => {
    const header = signatureFor(body, 'secret');
    expect(isValidSignature(body, header, 'secret')).toBe(true);
    expect(isValidSignature(body, header.toUpperCase().replace('SHA256=', 'sha256='), 'secret')).toBe(true);
  });

  it('refuses another secret, another body, a truncated or missing header and the sha1 header form', () => {
    const header = signatureFor(body, 'secret');
    expect(isValidSignature(body, header, 'other')).toBe(false);
    expect(isValidSignature(Buffer.from(`${body} `), header, 'secret')).toBe(false);
    expect(isValidSignature(body, header.slice(0, -2), 'secret')).toBe(false);
    expect(isValidSignature(body, undefined, 'secret')).toBe(false);
    expect(isValidSignature(body, header.replace('sha256=', 'sha1='), 'secret')).toBe(false);
  });

  it('compares verify tokens exactly, whatever their lengths', () => {
    expect(secretsEqual('token', 'token')).toBe(true);
    expect(secretsEqual('token', 'token ')).toBe(false);
    expect(secretsEqual('', 'token')).toBe(false);
  });
});

describe('Messenger webhook parsing', () => {
  const parse = (messaging: unknown[], id: string | number = '1001') => {
    const body = WebhookBody.parse({ object: 'page', entry: [{ id, time: 1, messaging }] });
    return inboundMessages(body.entry[0]!);
  };
  const from = { sender: { id: 'u1' }, recipient: { id: '1001' }, timestamp: 1700000000000 };

  it('reads text, quick replies, postbacks and downloadable media', () => {
    expect(
      parse([
        { ...from, message: { mid: 'm1', text: 'hello' } },
        { ...from, message: { mid: 'm2', text: 'Upload a document', quick_reply: { payload: 'SATCHEL_BUTTON:0' } } },
        { ...from, postback: { mid: 'm3', title: 'Talk to a person', payload: 'SATCHEL_BUTTON:2' } },
        {
          ...from,
          message: {
            mid: 'm4',
            attachments: [
              { type: 'image', payload: { url: 'https://cdn.example/a.jpg' } },
              { type: 'file', payload: { url: 'https://cdn.example/b.pdf' } },
              { type: 'location', payload: { coordinates: { lat: 1, long: 2 } } },
            ],
          },
        },
      ]),
    ).toEqual([
      { pageId: '1001', psid: 'u1', mid: 'm1', text: 'hello', media: [] },
      { pageId: '1001', psid: 'u1', mid: 'm2', text: 'Upload a document', buttonIndex: 0, media: [] },
      { pageId: '1001', psid: 'u1', mid: 'm3', text: 'Talk to a person', buttonIndex: 2, media: [] },
      {
        pageId: '1001',
        psid: 'u1',
        mid: 'm4',
        media: [
          { type: 'image', url: 'https://cdn.example/a.jpg' },
          { type: 'file', url: 'https://cdn.example/b.pdf' },
        ],
      },
    ]);
  });

  it('leaves out echoes, receipts, stickers and empty messages', () => {
    expect(
      parse([
        { ...from, message: { mid: 'e1', text: 'sent by the page', is_echo: true } },
        { ...from, delivery: { mids: ['m1'], watermark: 1 } },
        { ...from, read: { watermark: 1 } },
        { ...from, message: { mid: 's1', attachments: [{ type: 'image', payload: { url: 'https://cdn.example/like.png', sticker_id: 369239263222822 } }] } },
        { ...from, message: { mid: 'w1', text: '   ' } },
      ]),
    ).toEqual([]);
  });

  it('gives a postback without a mid a stable id, and ignores payloads that are not ours', () => {
    const [a] = parse([{ ...from, postback: { title: 'Get Started', payload: 'GET_STARTED' } }]);
    const [b] = parse([{ ...from, postback: { title: 'Get Started', payload: 'GET_STARTED' } }]);
    expect(a).toMatchObject({ text: 'Get Started', media: [] });
    expect(a!.buttonIndex).toBeUndefined();
    expect(a!.mid).toBe(b!.mid);
    expect(buttonIndexOf('SATCHEL_BUTTON:100')).toBeUndefined();
    expect(buttonIndexOf('SATCHEL_BUTTON:-1')).toBeUndefined();
  });

  it('accepts numeric page ids and unknown fields, and refuses bodies without the required shape', () => {
    expect(parse([{ ...from, message: { mid: 'm1', text: 'hi', nlp: {} }, extra: true }], 1001)[0]!.pageId).toBe('1001');
    expect(WebhookBody.safeParse({ object: 'page' }).success).toBe(false);
    expect(WebhookBody.safeParse({ object: 'page', entry: [{ id: '1', messaging: [{ sender: {} }] }] }).success).toBe(false);
  });

  it('finds page ids in unvalidated bodies without trusting their shape', () => {
    expect(pageIdsIn({ entry: [{ id: '1' }, { id: 2 }, { id: '1' }, null, { id: {} }] })).toEqual(['1', '2']);
    expect(pageIdsIn(null)).toEqual([]);
    expect(pageIdsIn({ entry: 'x' })).toEqual([]);
  });

  it('derives a fixed-length event id per page and mid', () => {
    const id = messageEventId('1001', 'm_'.padEnd(300, 'x'));
    expect(id.length).toBeLessThanOrEqual(128);
    expect(messageEventId('1001', 'm1')).not.toBe(messageEventId('1002', 'm1'));
  });
});

describe('Messenger outbound messages', () => {
  const msg = (m: Partial<TranscriptMessage>): TranscriptMessage => ({ seq: 1, at: 0, from: 'bot', ...m });
  const url = (a: { id: string }) => `https://satchel.example/files/${a.id}`;

  it('splits long text at the Send API limit without cutting characters', () => {
    const text = '😀'.repeat(MAX_TEXT_CHARS + 5);
    const sends = sendsFor(msg({ text }), url);
    expect(sends).toHaveLength(2);
    expect(sends.map((s) => ('text' in s ? [...s.text].length : 0))).toEqual([MAX_TEXT_CHARS, 5]);
  });

  it('sends each file by URL, typed from its content type, and hangs quick replies on the last send', () => {
    const sends = sendsFor(
      msg({
        text: 'Your files',
        attachments: [
          { id: 'a', fileName: 'x.pdf', contentType: 'application/pdf', size: 1 },
          { id: 'b', fileName: 'y.png', contentType: 'image/png', size: 1 },
        ],
        buttons: [{ label: 'Thanks' }, { label: 'A label longer than twenty characters' }],
      }),
      url,
    );
    expect(sends).toEqual([
      { text: 'Your files' },
      { attachment: { type: 'file', payload: { url: 'https://satchel.example/files/a', is_reusable: false } } },
      {
        attachment: { type: 'image', payload: { url: 'https://satchel.example/files/b', is_reusable: false } },
        quick_replies: [
          { content_type: 'text', title: 'Thanks', payload: 'SATCHEL_BUTTON:0' },
          { content_type: 'text', title: 'A label longer than…', payload: 'SATCHEL_BUTTON:1' },
        ],
      },
    ]);
  });

  it('maps content types to Messenger attachment types', () => {
    expect(['image/jpeg', 'video/mp4', 'audio/mpeg', 'application/pdf', 'text/csv; charset=utf-8', ''].map(attachmentKind)).toEqual([
      'image',
      'video',
      'audio',
      'file',
      'file',
      'file',
    ]);
  });
});
