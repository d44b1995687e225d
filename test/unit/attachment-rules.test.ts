import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sniffContent } from '../../shared/adapters/content-sniffer';
import { DEFAULT_ALLOWED_TYPES } from '../../shared/bots/schema';
import {
  checkDeclaredFile,
  cleanFileName,
  contentMatches,
  contentRuleFor,
  isPlausibleContentType,
  isSizeAllowed,
  hasPlaceLeft,
  storedContentType,
} from '../../shared/domain/attachment-rules';
import { testBot } from '../support/emulators';
import * as samples from '../support/samples';

const rules = testBot({ start: 'a', interactions: { a: { type: 'message', text: 'x' } } }).attachments;
const strict = { allowedTypes: ['pdf'], sizeLimitBytes: 100, limitPerConversation: 2 };

describe('declared checks', () => {
  it('use the default list when the bot sets none, case-insensitively on the extension', () => {
    expect(rules.allowedTypes).toEqual([...DEFAULT_ALLOWED_TYPES]);
    expect(checkDeclaredFile(rules, { fileName: 'Scan.JPEG', size: 10 })).toBeUndefined();
    expect(checkDeclaredFile(rules, { fileName: 'x.exe', size: 10 })).toBe('attachment_type_not_allowed');
    expect(checkDeclaredFile(rules, { fileName: 'pdf', size: 10 })).toBe('attachment_type_not_allowed');
    expect(checkDeclaredFile(rules, { fileName: '.pdf', size: 10 })).toBe('attachment_type_not_allowed');
    expect(checkDeclaredFile(rules, { fileName: 'a.pdf.exe', size: 10 })).toBe('attachment_type_not_allowed');
  });

  it('check the type before the size, and the size against the limit inclusively', () => {
    expect(checkDeclaredFile(strict, { fileName: 'a.png', size: 1000 })).toBe('attachment_type_not_allowed');
    expect(checkDeclaredFile(strict, { fileName: 'a.pdf', size: 100 })).toBeUndefined();
    expect(checkDeclaredFile(strict, { fileName: 'a.pdf', size: 101 })).toBe('attachment_too_large');
    expect(checkDeclaredFile(strict, { fileName: 'a.pdf' })).toBeUndefined();
    expect(isSizeAllowed(strict, 0)).toBe(false);
    expect(isSizeAllowed(strict, 1)).toBe(true);
    expect(isSizeAllowed(strict, 100)).toBe(true);
    expect(isSizeAllowed(strict, 101)).toBe(false);
  });

  it('count files plus open slots against the conversation limit; null is unlimited', () => {
    expect(hasPlaceLeft(strict, 1)).toBe(true);
    expect(hasPlaceLeft(strict, 2)).toBe(false);
    expect(hasPlaceLeft({ limitPerConversation: null }, 10_000)).toBe(true);
  });
});

describe('content rules', () => {
  it('cover every default type', () => {
    for (const ext of DEFAULT_ALLOWED_TYPES) expect(contentRuleFor(ext), ext).toBeDefined();
    expect(contentRuleFor('doc')).toEqual({ kind: 'binary', detected: ['cfb'] });
    expect(contentRuleFor('xls')).toEqual({ kind: 'binary', detected: ['cfb'] });
    expect(contentRuleFor('jpeg')).toEqual(contentRuleFor('jpg'));
    expect(contentRuleFor('csv')).toEqual({ kind: 'text' });
    expect(contentRuleFor('exe')).toBeUndefined();
    expect(contentRuleFor('constructor')).toBeUndefined();
  });

  it('match binary files on what file-type detected', () => {
    expect(contentMatches(contentRuleFor('pdf')!, { detected: 'pdf' })).toBe(true);
    expect(contentMatches(contentRuleFor('pdf')!, { detected: 'elf' })).toBe(false);
    expect(contentMatches(contentRuleFor('pdf')!, {})).toBe(false);
    expect(contentMatches(contentRuleFor('docx')!, { detected: 'zip' })).toBe(false);
    expect(contentMatches(contentRuleFor('zip')!, { detected: 'docx' })).toBe(true);
  });

  it('match text files only when they are text and not a recognisable binary format', () => {
    const text = contentRuleFor('txt')!;
    expect(contentMatches(text, { text: true })).toBe(true);
    expect(contentMatches(text, { text: true, detected: 'xml' })).toBe(true);
    expect(contentMatches(text, { text: false })).toBe(false);
    expect(contentMatches(text, { text: true, detected: 'pdf' })).toBe(false);
  });

  it('store the type of the extension, not the declared one', () => {
    expect(storedContentType('a.JPG')).toBe('image/jpeg');
    expect(storedContentType('a.csv')).toBe('text/csv; charset=utf-8');
    expect(storedContentType('a.xlsx')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(storedContentType('a.weird')).toBe('application/octet-stream');
  });
});

describe('names and declared types', () => {
  it('keep the last path segment without control or bidi characters', () => {
    expect(cleanFileName('C:\\Users\\me\\report.pdf')).toBe('report.pdf');
    expect(cleanFileName('../../etc/passwd.txt')).toBe('passwd.txt');
    expect(cleanFileName('in\u0000voice\r\n.pdf')).toBe('invoice.pdf');
    expect(cleanFileName('evil\u202Efdp.exe')).toBe('evilfdp.exe');
    // A lone surrogate would make the download's Content-Disposition header unencodable.
    expect(cleanFileName('\ud800report.pdf')).toBe('\ufffdreport.pdf');
    expect(() => encodeURIComponent(cleanFileName('\ud800report.pdf'))).not.toThrow();
    expect(cleanFileName('Résumé – 履歴書.pdf')).toBe('Résumé – 履歴書.pdf');
    expect(cleanFileName('..')).toBe('');
    const long = cleanFileName(`${'ä'.repeat(400)}.pdf`);
    expect([...long]).toHaveLength(255);
    expect(long.endsWith('.pdf')).toBe(true);
  });

  it('accept only plain MIME types in an upload policy', () => {
    expect(isPlausibleContentType('application/pdf')).toBe(true);
    expect(isPlausibleContentType('application/vnd.openxmlformats-officedocument.wordprocessingml.document')).toBe(true);
    expect(isPlausibleContentType('text/html; charset=utf-8')).toBe(false);
    expect(isPlausibleContentType('pdf')).toBe(false);
    expect(isPlausibleContentType('a/b\r\nX-Evil: 1')).toBe(false);
  });
});

describe('content sniffer', () => {
  const sniff = (ext: string, body: Buffer | Iterable<Buffer>) =>
    sniffContent(Readable.from(Buffer.isBuffer(body) ? [body] : body), contentRuleFor(ext)!).then((f) => contentMatches(contentRuleFor(ext)!, f));

  it('recognises every real sample as its own type', async () => {
    for (const s of samples.validSamples()) expect(await sniff(s.fileName.split('.').pop()!, s.body), s.fileName).toBe(true);
  });

  it('refuses executables and other formats under a wrong extension', async () => {
    expect(await sniff('pdf', samples.elf())).toBe(false);
    expect(await sniff('pdf', samples.exe())).toBe(false);
    expect(await sniff('png', samples.jpg())).toBe(false);
    expect(await sniff('xlsx', samples.docx())).toBe(false);
    expect(await sniff('doc', samples.plainZip())).toBe(false);
    expect(await sniff('txt', samples.pdf())).toBe(false);
    expect(await sniff('csv', samples.png())).toBe(false);
  });

  it('reads binary files only as far as the magic bytes need', async () => {
    let pulled = 0;
    const big = new Readable({
      read() {
        pulled++;
        this.push(pulled === 1 ? samples.pdf() : Buffer.alloc(64 * 1024));
        if (pulled > 1000) this.push(null);
      },
    });
    const found = await sniffContent(big, contentRuleFor('pdf')!);
    expect(found.detected).toBe('pdf');
    expect(pulled).toBeLessThan(5);
    expect(big.destroyed).toBe(true);
  });

  it('checks text to the last byte, across chunk boundaries', async () => {
    const text = Buffer.from('ok '.repeat(50_000) + 'Zoë 履歴書\n');
    // Split inside multi-byte characters: still valid.
    const pieces = Array.from({ length: Math.ceil(text.length / 7) }, (_, i) => text.subarray(i * 7, i * 7 + 7));
    expect(await sniff('txt', pieces)).toBe(true);
    expect(await sniff('txt', [text, Buffer.from([0xc3])])).toBe(false); // cut-off sequence at the end
    expect(await sniff('txt', [text, Buffer.from([0x00])])).toBe(false);
    expect(await sniff('txt', Buffer.from([0xef, 0xbb, 0xbf, 0x68, 0x69]))).toBe(true); // BOM
  });
});
