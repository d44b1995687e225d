import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extensionForMime, mediaFileName, outboundMediaKind, sameDigest, sha256Digest } from '../../shared/channels/whatsapp/media';
import {
  buttonFromNumberedText,
  LIST_BUTTON_LABEL,
  MAX_INTERACTIVE_BODY_CHARS,
  MAX_TEXT_CHARS,
  mediaMessage,
  messageBody,
  partsFor,
  type OutboundPart,
} from '../../shared/channels/whatsapp/outbound';
import { handshakeChallenge, isValidSignature, signatureFor } from '../../shared/channels/whatsapp/signature';
import { WebhookBody, buttonId, buttonIndexOf, inboundMessages, phoneNumberIdsIn } from '../../shared/channels/whatsapp/webhook';
import { isReplyWindowOpen, replyWindowClosedText } from '../../shared/domain/reply-window';
import type { TranscriptMessage } from '../../shared/domain/transcript';

const fixture = (name: string): unknown => JSON.parse(readFileSync(resolve('test/fixtures/whatsapp', `${name}.json`), 'utf8'));
const parsed = (name: string) => {
  const body = WebhookBody.safeParse(fixture(name));
  expect(body.success).toBe(true);
  return inboundMessages(body.data!);
};

describe('WhatsApp webhook parsing (documented payloads)', () => {
  it('reads a text message: phone number id, user, message id, time, profile name', () => {
    expect(parsed('text')).toEqual([
      {
        phoneNumberId: '106540352242922',
        waId: '16505551234',
        messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
        sentAt: 1749416383000,
        userName: 'Sheena Nelson',
        text: 'Does it come in another color?',
        media: [],
      },
    ]);
  });

  it('maps reply buttons, list rows and template buttons back to the button index', () => {
    expect(parsed('interactive-button-reply').map((m) => [m.buttonIndex, m.text])).toEqual([[1, 'Talk to a person']]);
    expect(parsed('interactive-list-reply').map((m) => [m.buttonIndex, m.text])).toEqual([[4, 'Fifth option']]);
    expect(parsed('button').map((m) => [m.buttonIndex, m.text])).toEqual([[0, 'Send the form']]);
  });

  it('reads image, document, audio and video by media id; only documents carry a file name', () => {
    expect(parsed('image')[0]!.media).toEqual([{ kind: 'image', mediaId: '1003383421387256', mimeType: 'image/jpeg', sha256: 'l7+ZbBjGJ0RKNDJ4Fn4kS9QbdNlSw1xXJ8mBAl0hAnY=' }]);
    expect(parsed('document')[0]!.media).toEqual([
      { kind: 'document', mediaId: '1467427830660138', mimeType: 'application/pdf', sha256: 'xjtcQHVDkwsAgD4JpEsb3CM6D8nLX1bnDmWGzcD4nJw=', fileName: 'claim-form.pdf' },
    ]);
    expect(parsed('audio')[0]!.media.map((m) => [m.kind, m.mediaId, m.mimeType])).toEqual([['audio', '1275284223803478', 'audio/ogg; codecs=opus']]);
    expect(parsed('video')[0]!.media.map((m) => [m.kind, m.mediaId])).toEqual([['video', '964728305726015']]);
    // A caption is not taken as text: it would otherwise meet the default answer.
    expect(parsed('image')[0]!.text).toBeUndefined();
  });

  it('leaves out delivery statuses, stickers and changes other than messages', () => {
    expect(parsed('statuses')).toEqual([]);
    expect(parsed('sticker')).toEqual([]);
    const other = fixture('text') as { entry: { changes: { field: string }[] }[] };
    other.entry[0]!.changes[0]!.field = 'message_template_status_update';
    expect(inboundMessages(WebhookBody.parse(other))).toEqual([]);
  });

  it('finds the phone number ids of a body before it is validated, whatever it holds', () => {
    expect(phoneNumberIdsIn(fixture('statuses'))).toEqual(['106540352242922']);
    expect(phoneNumberIdsIn({ entry: [{ changes: [{ value: { metadata: { phone_number_id: 42 } } }, { value: null }] }, 'x'] })).toEqual(['42']);
    expect(phoneNumberIdsIn(null)).toEqual([]);
    expect(phoneNumberIdsIn({ entry: 'no' })).toEqual([]);
  });

  it('refuses bodies that are not webhook events', () => {
    expect(WebhookBody.safeParse({ object: 'whatsapp_business_account' }).success).toBe(false);
    expect(WebhookBody.safeParse({ object: 'whatsapp_business_account', entry: {} }).success).toBe(false);
    const noId = fixture('text') as { entry: { changes: { value: { messages: Record<string, unknown>[] } }[] }[] };
    delete noId.entry[0]!.changes[0]!.value.messages[0]!.id;
    expect(WebhookBody.safeParse(noId).success).toBe(false);
    // Unknown fields are fine: Meta adds them over time.
    expect(WebhookBody.safeParse({ ...(fixture('text') as object), new_field: { x: 1 } }).success).toBe(true);
  });

  it('carries button indexes in ids it can read back, and nothing else', () => {
    expect(buttonIndexOf(buttonId(7))).toBe(7);
    expect(buttonIndexOf('SATCHEL_BUTTON:')).toBeUndefined();
    expect(buttonIndexOf('SATCHEL_BUTTON:123')).toBeUndefined();
    expect(buttonIndexOf('other')).toBeUndefined();
  });
});

describe('WhatsApp signature and handshake', () => {
  const body = Buffer.from(readFileSync(resolve('test/fixtures/whatsapp/text.json')));

  it('accepts the app secret HMAC of the raw body, refuses any other', () => {
    expect(isValidSignature(body, signatureFor(body, 's3cret'), 's3cret')).toBe(true);
    expect(isValidSignature(body, signatureFor(body, 'other'), 's3cret')).toBe(false);
    expect(isValidSignature(Buffer.concat([body, Buffer.from(' ')]), signatureFor(body, 's3cret'), 's3cret')).toBe(false);
    expect(isValidSignature(body, undefined, 's3cret')).toBe(false);
  });

  it('echoes the challenge only for subscribe with a known verify token', () => {
    const q = (token: string, mode = 'subscribe') => ({ 'hub.mode': mode, 'hub.verify_token': token, 'hub.challenge': '1158201444' });
    expect(handshakeChallenge(q('tok-b'), ['tok-a', 'tok-b'])).toBe('1158201444');
    expect(handshakeChallenge(q('tok-'), ['tok-a', 'tok-b'])).toBeUndefined();
    expect(handshakeChallenge(q('tok-a', 'unsubscribe'), ['tok-a'])).toBeUndefined();
    expect(handshakeChallenge(q('tok-a'), [])).toBeUndefined();
    expect(handshakeChallenge({ 'hub.mode': 'subscribe', 'hub.verify_token': 'tok-a' }, ['tok-a'])).toBeUndefined();
  });
});

describe('WhatsApp media digests and names', () => {
  const bytes = Buffer.from('%PDF-1.4 sample');
  const hex = createHash('sha256').update(bytes).digest('hex');
  const b64 = createHash('sha256').update(bytes).digest('base64');

  it('compares the digest whether Meta wrote it as hex or base64', () => {
    expect(sha256Digest(hex)!.equals(sha256Digest(b64)!)).toBe(true);
    expect(sameDigest(b64, hex)).toBe(true);
    expect(sameDigest(b64.replace(/\+/g, '-').replace(/\//g, '_'), hex)).toBe(true);
    expect(sameDigest(hex.toUpperCase(), sha256Digest(hex))).toBe(true);
    expect(sameDigest(createHash('sha256').update('other').digest('base64'), hex)).toBe(false);
    expect(sameDigest('not-a-digest', hex)).toBe(false);
    expect(sameDigest(undefined, hex)).toBe(false);
  });

  it('names a file by its document filename, else by media id and the extension of its type', () => {
    expect(mediaFileName('1467427830660138', 'claim-form.pdf', 'application/pdf')).toBe('claim-form.pdf');
    expect(mediaFileName('1003383421387256', undefined, 'image/jpeg')).toBe('1003383421387256.jpg');
    expect(mediaFileName('1275284223803478', undefined, 'audio/ogg; codecs=opus')).toBe('1275284223803478.ogg');
    expect(mediaFileName('99', '  ', 'application/x-unknown')).toBe('99');
    expect(extensionForMime('application/vnd.openxmlformats-officedocument.wordprocessingml.document')).toBe('docx');
  });

  it('sends small jpeg and png as images and everything else as documents', () => {
    expect(outboundMediaKind('image/png', 1000)).toBe('image');
    expect(outboundMediaKind('image/jpeg', 6 * 1024 * 1024)).toBe('document');
    expect(outboundMediaKind('image/gif', 1000)).toBe('document');
    expect(outboundMediaKind('application/pdf', 1000)).toBe('document');
  });
});

describe('WhatsApp rendering', () => {
  const msg = (m: Partial<TranscriptMessage>): TranscriptMessage => ({ seq: 1, at: 0, from: 'bot', ...m });
  const labels = (n: number) => Array.from({ length: n }, (_, i) => ({ label: `Option number ${i + 1} with a long label` }));
  const interactive = (parts: OutboundPart[]) => parts.find((p) => p.type === 'interactive')!.interactive;
  const pdfMeta = { id: 'a1', fileName: 'claim.pdf', contentType: 'application/pdf', size: 100 };

  it('sends plain text, split at 4096 characters without cutting a character', () => {
    expect(partsFor(msg({ text: 'Hello' }))).toEqual([{ type: 'text', text: { body: 'Hello', preview_url: false } }]);
    const long = '😀'.repeat(MAX_TEXT_CHARS + 5);
    const parts = partsFor(msg({ text: long }));
    expect(parts).toHaveLength(2);
    expect(parts.map((p) => (p.type === 'text' ? [...p.text.body].length : 0))).toEqual([MAX_TEXT_CHARS, 5]);
  });

  it('turns up to 3 buttons into reply buttons titled at most 20 characters, the text as body', () => {
    const parts = partsFor(msg({ text: 'Pick one', buttons: labels(3) }));
    expect(parts).toHaveLength(1);
    const i = interactive(parts);
    expect(i.type).toBe('button');
    expect(i.body.text).toBe('Pick one');
    const buttons = i.type === 'button' ? i.action.buttons : [];
    expect(buttons.map((b) => b.reply.id)).toEqual(['SATCHEL_BUTTON:0', 'SATCHEL_BUTTON:1', 'SATCHEL_BUTTON:2']);
    expect(buttons.map((b) => [...b.reply.title].length)).toEqual([20, 20, 20]);
    expect(buttons[0]!.reply.title).toBe('Option number 1 wit…');
    expect(partsFor(msg({ text: 'Ok?', buttons: [{ label: 'Yes' }] }))[0]).toMatchObject({ interactive: { action: { buttons: [{ reply: { title: 'Yes' } }] } } });
  });

  it('turns 4 to 10 buttons into a list with row titles of at most 24 characters', () => {
    for (const n of [4, 10]) {
      const i = interactive(partsFor(msg({ text: 'Pick one', buttons: labels(n) })));
      expect(i.type).toBe('list');
      if (i.type !== 'list') return;
      expect(i.action.button).toBe(LIST_BUTTON_LABEL);
      const rows = i.action.sections.flatMap((s) => s.rows);
      expect(rows).toHaveLength(n);
      expect(rows.every((r) => [...r.title].length <= 24)).toBe(true);
      expect(rows[3]).toEqual({ id: 'SATCHEL_BUTTON:3', title: 'Option number 4 with a …', description: 'Option number 4 with a long label' });
    }
    const short = interactive(partsFor(msg({ text: 'x', buttons: [{ label: 'A' }, { label: 'B' }, { label: 'C' }, { label: 'D' }] })));
    expect(short.type === 'list' && short.action.sections[0]!.rows[0]).toEqual({ id: 'SATCHEL_BUTTON:0', title: 'A' });
  });

  it('turns more than 10 buttons into numbered text', () => {
    const parts = partsFor(msg({ text: 'Pick one', buttons: labels(11) }));
    expect(parts.every((p) => p.type === 'text')).toBe(true);
    const body = parts.map((p) => (p.type === 'text' ? p.text.body : '')).join('');
    expect(body.startsWith('Pick one\n\n1. Option number 1 with a long label\n')).toBe(true);
    expect(body.endsWith('11. Option number 11 with a long label')).toBe(true);
  });

  it('reads a reply to numbered options (more than 10) by number or label, and nothing for real buttons', () => {
    const eleven = labels(11);
    expect(buttonFromNumberedText('11', eleven)).toBe(10);
    expect(buttonFromNumberedText(' 3. ', eleven)).toBe(2);
    expect(buttonFromNumberedText('option NUMBER 5 with a long label', eleven)).toBe(4);
    expect(buttonFromNumberedText('12', eleven)).toBeUndefined();
    expect(buttonFromNumberedText('0', eleven)).toBeUndefined();
    expect(buttonFromNumberedText('something else', eleven)).toBeUndefined();
    expect(buttonFromNumberedText('1', labels(10))).toBeUndefined();
  });

  it('sends text and files first when the text cannot be the body, then the buttons with numbered options', () => {
    const long = 'x'.repeat(MAX_INTERACTIVE_BODY_CHARS + 1);
    const parts = partsFor(msg({ text: long, buttons: [{ label: 'Yes' }, { label: 'No' }] }));
    expect(parts.map((p) => p.type)).toEqual(['text', 'interactive']);
    expect(interactive(parts).body.text).toBe('1. Yes\n2. No');
    const withFile = partsFor(msg({ text: 'Here it is', attachments: [pdfMeta], buttons: [{ label: 'Thanks' }] }));
    expect(withFile.map((p) => p.type)).toEqual(['text', 'file', 'interactive']);
  });

  it('sends files by media id: documents with their file name, images without', () => {
    expect(mediaMessage(pdfMeta, 'm1')).toEqual({ type: 'document', document: { id: 'm1', filename: 'claim.pdf' } });
    expect(mediaMessage({ fileName: 'p.png', contentType: 'image/png', size: 10 }, 'm2')).toEqual({ type: 'image', image: { id: 'm2' } });
    expect(messageBody('16505551234', mediaMessage(pdfMeta, 'm1'))).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '16505551234',
      type: 'document',
      document: { id: 'm1', filename: 'claim.pdf' },
    });
  });
});

describe('reply window (WhatsApp customer-service window)', () => {
  const day = 24 * 3600;
  it('is open until the window has passed since the user\'s last message, and always without a window', () => {
    const last = 1_000_000;
    expect(isReplyWindowOpen({ lastActivityAt: last }, day, last + day * 1000 - 1)).toBe(true);
    expect(isReplyWindowOpen({ lastActivityAt: last }, day, last + day * 1000)).toBe(false);
    expect(isReplyWindowOpen({ lastActivityAt: last }, undefined, last + 100 * day * 1000)).toBe(true);
    expect(replyWindowClosedText('WhatsApp', day)).toMatch(/^WhatsApp only delivers agent messages within 24 hours/);
  });
});
