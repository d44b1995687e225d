import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';

// file-type is replaced only here, to make its parser throw as it can on hostile bytes.
vi.mock('file-type/core', () => ({
  fileTypeFromStream: vi.fn(async (stream: ReadableStream) => {
    const reader = stream.getReader();
    await reader.read(); // surfaces a failing source as the real parser would
    throw new Error('parser choked');
  }),
  fileTypeFromBuffer: vi.fn(async () => undefined),
}));

const { sniffContent } = await import('../../shared/adapters/content-sniffer');
const binary = { kind: 'binary', detected: ['pdf'] } as const;

describe('content sniffer error handling', () => {
  it('treats bytes the parser cannot handle as unrecognised (refused as a mismatch, not retried)', async () => {
    await expect(sniffContent(Readable.from([Buffer.from('%PDF-garbage')]), binary)).resolves.toEqual({});
  });

  it('lets a failing source (S3, network) fail the check so the turn is retried', async () => {
    const broken = new Readable({
      read() {
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(sniffContent(broken, binary)).rejects.toThrow(/connection reset/);
  });
});
