import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Opaque signed tokens: `<kind>.<base64url payload>.<base64url HMAC-SHA256>`. The kind is
 * part of what is signed, so a file token can never pass as a session token.
 */
export class TokenSigner {
  constructor(private readonly key: Buffer | string) {}

  private mac(kind: string, payload: string): Buffer {
    return createHmac('sha256', this.key).update(`${kind}.${payload}`).digest();
  }

  sign(kind: string, data: unknown): string {
    const payload = Buffer.from(JSON.stringify(data)).toString('base64url');
    return `${kind}.${payload}.${this.mac(kind, payload).toString('base64url')}`;
  }

  /** The signed data, or undefined for anything malformed or forged. */
  verify<T>(kind: string, token: string | undefined): T | undefined {
    if (!token) return undefined;
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== kind) return undefined;
    const [, payload, sig] = parts as [string, string, string];
    const expected = this.mac(kind, payload);
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T;
    } catch {
      return undefined;
    }
  }
}
