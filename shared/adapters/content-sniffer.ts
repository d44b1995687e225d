import { Readable } from 'node:stream';
import type { ContentFindings, ContentRule } from '../domain/attachment-rules';

/** Bytes kept from the start of a text file so file-type can tell it is not a binary format. */
const TEXT_HEAD_BYTES = 64 * 1024;

export type ByteSource = Readable | AsyncIterable<Uint8Array>;

/**
 * file-type, loaded on the first sniff rather than at cold start (about 10 ms of module
 * set-up): most invocations of the functions that sniff receive no file (issue 10). Its
 * portable entry point (`file-type/core`): the same detectors, without the Node entry's file
 * and Node-stream tokenizers (strtok3's), which a web stream and a buffer never need.
 */
const fileType = () => import('file-type/core');

/**
 * Looks at a file's bytes for the rule of its extension and reports what it found; the
 * verdict is `contentMatches` (domain). Binary formats are recognised by their magic bytes
 * and only as much of the stream as file-type needs is read; text formats are read to the
 * end (streaming, never held whole) because one bad byte anywhere makes them not text.
 * The source is always destroyed before returning, so an S3 download stops early.
 */
export async function sniffContent(source: ByteSource, rule: ContentRule): Promise<ContentFindings> {
  const stream = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
  try {
    if (rule.kind === 'binary') {
      const { fileTypeFromStream } = await fileType();
      // As a web stream, which the portable entry point takes; it reads only what it needs.
      try {
        const type = await fileTypeFromStream(Readable.toWeb(stream) as Parameters<typeof fileTypeFromStream>[0]);
        return type ? { detected: type.ext } : {};
      } catch (err) {
        // A failing source (S3, network) is worth a retry; bytes the parser chokes on are
        // simply not the format their extension claims.
        if (stream.errored) throw err;
        return {};
      }
    }
    return await sniffText(stream);
  } finally {
    stream.destroy();
  }
}

async function sniffText(stream: Readable): Promise<ContentFindings> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const head: Buffer[] = [];
  let headBytes = 0;
  let text = true;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    if (headBytes < TEXT_HEAD_BYTES) {
      const part = Buffer.from(chunk.subarray(0, TEXT_HEAD_BYTES - headBytes));
      head.push(part);
      headBytes += part.length;
    }
    if (chunk.includes(0)) {
      text = false;
      break;
    }
    try {
      decoder.decode(chunk, { stream: true });
    } catch {
      text = false;
      break;
    }
  }
  if (text) {
    try {
      decoder.decode(); // a multi-byte sequence cut off at the end is not valid UTF-8
    } catch {
      text = false;
    }
  }
  const type = headBytes ? await (await fileType()).fileTypeFromBuffer(Buffer.concat(head)) : undefined;
  return { text, ...(type && { detected: type.ext }) };
}
