import { describe, expect, it } from 'vitest';
import { estimateEncodedBytes } from '../../shared/app/mail-attachment';
import { attachmentEmail, escapeHtml } from '../../shared/app/mail-content';
import { formatBytes } from '../../shared/domain/format';
import type { TranscriptMessage } from '../../shared/domain/transcript';

const at = Date.UTC(2026, 10, 25, 9, 30, 5);
const file = { id: 'f1', fileName: 'q3 <report>.pdf', contentType: 'application/pdf', size: 1536 };
const transcript: TranscriptMessage[] = [
  { seq: 1, at, from: 'bot', text: 'Hi!\nWhat do you need?', buttons: [{ label: 'Upload' }, { label: 'Person' }] },
  { seq: 2, at: at + 1000, from: 'user', text: 'Here it is: <script>alert(1)</script>' },
  { seq: 3, at: at + 2000, from: 'agent', agent: { agentId: 'a1', name: 'Agnes' }, text: 'Thanks "Bob" & co' },
  { seq: 4, at: at + 3000, from: 'user', attachments: [file] },
];
const base = {
  bot: { name: 'Claims' },
  session: { id: 's-1', channel: 'web' as const, userId: 'web:s-1', userName: 'Bob' },
  file,
  transcript,
  omitted: 0,
};

describe('attachment email content', () => {
  it('names the bot and the file in the subject, on one line', () => {
    const { subject } = attachmentEmail({ ...base, file: { ...file, fileName: 'a\r\nBcc: x@example.com.pdf' }, delivery: { kind: 'attached' } });
    expect(subject).toContain('Claims');
    expect(subject).toContain('a Bcc: x@example.com.pdf');
    expect(subject).not.toMatch(/[\r\n]/);
  });

  it('lists who said what and when in the text body, multi-line texts indented', () => {
    const { text } = attachmentEmail({ ...base, delivery: { kind: 'attached' } });
    const head = '2026-11-25 09:30:05 UTC  Claims: ';
    expect(text).toContain(`${head}Hi!\n${' '.repeat(head.length)}What do you need?\n${' '.repeat(head.length)}[Upload] [Person]`);
    expect(text).toContain('2026-11-25 09:30:06 UTC  Bob: Here it is: <script>alert(1)</script>');
    expect(text).toContain('2026-11-25 09:30:07 UTC  Agnes (agent): Thanks "Bob" & co');
    expect(text).toContain('2026-11-25 09:30:08 UTC  Bob: [file] q3 <report>.pdf (application/pdf, 1.5 KB)');
    expect(text).toContain('The file is attached to this email.');
  });

  it('escapes everything users and agents wrote in the HTML body', () => {
    const { html } = attachmentEmail({ ...base, delivery: { kind: 'link', url: 'https://x.example/files/ft.a"b' } });
    expect(html).not.toContain('<script>');
    expect(html).toContain('Here it is: &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Thanks &quot;Bob&quot; &amp; co');
    expect(html).toContain('q3 &lt;report&gt;.pdf');
    expect(html).toContain('<a href="https://x.example/files/ft.a&quot;b">');
    expect(html).toContain('Hi!<br>What do you need?');
  });

  it('says how many earlier messages were left out', () => {
    const { text, html } = attachmentEmail({ ...base, omitted: 12, delivery: { kind: 'attached' } });
    expect(text).toContain('(12 earlier messages not shown)');
    expect(html).toContain('(12 earlier messages not shown)');
  });

  it('falls back to "User" for an unnamed user', () => {
    const { text } = attachmentEmail({ ...base, session: { ...base.session, userName: undefined }, delivery: { kind: 'attached' } });
    expect(text).toMatch(/^User sent a file to Claims\./);
  });
});

describe('helpers', () => {
  it('escapes the five HTML specials', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('formats sizes', () => {
    expect([formatBytes(10), formatBytes(2048), formatBytes(5 * 1024 * 1024)]).toEqual(['10 B', '2 KB', '5 MB']);
  });

  it('estimates at least the base64 size of the file', () => {
    const size = 3_000_000;
    expect(estimateEncodedBytes(size, 0)).toBeGreaterThanOrEqual(Math.ceil(size / 3) * 4);
    expect(estimateEncodedBytes(size, 0)).toBeLessThan(size * 1.4);
  });
});
