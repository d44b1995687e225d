import { randomUUID } from 'node:crypto';
import type { AttachmentMeta, Sender } from './transcript';

/**
 * A stored file of a session. The S3 key is random and session-scoped: never the user's
 * file name (SPEC section 3).
 */
export interface AttachmentRecord extends AttachmentMeta {
  sessionId: string;
  key: string;
  from: Sender;
  createdAt: number;
  /** Epoch seconds after which links stop working even if the session lives on (agent files: 24 h). */
  linkExpiresAt?: number;
}

export const newAttachmentKey = (sessionId: string) => `sessions/${sessionId}/${randomUUID()}`;

export const extensionOf = (fileName: string): string => {
  const dot = fileName.lastIndexOf('.');
  return dot > 0 && dot < fileName.length - 1 ? fileName.slice(dot + 1).toLowerCase() : '';
};

export const toMeta = (r: AttachmentRecord): AttachmentMeta => ({ id: r.id, fileName: r.fileName, contentType: r.contentType, size: r.size });
