import { randomUUID } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { SESSION_FILES_PREFIX } from '../shared/adapters/table-layout';
import type { ScanResultStatus } from '../shared/domain/scan';
import { logger } from '../shared/logger';
import { BackoffLoop } from './backoff-loop';
import type { MalwareScanner, ScanAnswer } from './malware-scanner';

export const SCAN_RESULT_DETAIL_TYPE = 'GuardDuty Malware Protection Object Scan Result';

/**
 * The event GuardDuty Malware Protection for S3 publishes for one scanned object (sample kept
 * in test/support/fixtures/guardduty-scan-result.json with its documentation URL), built
 * from a local scanner's answer.
 */
export function scanResultEvent(bucketName: string, object: { key: string; eTag?: string }, answer: ScanAnswer, at = new Date()) {
  const scanStatus = answer.status === 'NO_THREATS_FOUND' || answer.status === 'THREATS_FOUND' ? 'COMPLETED' : answer.status === 'UNSUPPORTED' ? 'SKIPPED' : 'FAILED';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': SCAN_RESULT_DETAIL_TYPE,
    source: 'aws.guardduty',
    account: '000000000000',
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: ['arn:aws:guardduty:us-east-1:000000000000:malware-protection-plan/local'],
    detail: {
      schemaVersion: '1.0',
      scanStatus,
      resourceType: 'S3_OBJECT',
      s3ObjectDetails: { bucketName, objectKey: object.key, eTag: object.eTag ?? '', versionId: null, s3Throttled: false },
      scanResultDetails: {
        scanResultStatus: answer.status,
        threats: answer.status === 'THREATS_FOUND' ? (answer.threats ?? []).map((name) => ({ name })) : null,
      },
    },
  };
}

export interface ScanLoopOptions {
  s3: S3Client;
  bucket: string;
  /** The engine for each pass (clamd when it answers, else the built-in one). */
  scanner: () => Promise<MalwareScanner>;
  /** The verdict function's handler: gets the event, returns its outcome, throws to be asked again. */
  deliver: (event: ReturnType<typeof scanResultEvent>) => Promise<unknown>;
  intervalMs: number;
  /** A file this long without a settled verdict raises the overdue alarm (an error log). */
  alarmAfterMs: number;
  /** Largest object read into memory; bigger ones are FAILED (they stay pending and alarm). */
  maxObjectBytes?: number;
  /** Which keys it scans (default: every session's files, the prefix the stack's plan protects). */
  prefix?: string;
  now?: () => number;
}

interface Unsettled {
  firstSeen: number;
  attempts: number;
  nextAttemptAt: number;
  alarmed: boolean;
}

/**
 * The local stand-in for GuardDuty Malware Protection for S3 (SPEC 13): every pass lists the
 * session files, scans each new object once (by key and ETag), and delivers the SAME
 * GuardDuty-shaped event to the same verdict handler the stack routes EventBridge to. A scan
 * that fails, a verdict that leaves the file pending or a delivery that throws is tried again
 * with a growing wait; a file still without a settled verdict after `alarmAfterMs` is logged
 * as an error once (the local form of the ScanVerdictOverdue alarm) and shows in `status()`.
 * A failed pass (storage down) is retried with backoff; the loop never ends on an error.
 */
export class LocalScanLoop {
  static readonly MAX_BACKOFF_MS = 60_000;
  private readonly loop: BackoffLoop;
  private readonly done = new Map<string, string>();
  private readonly unsettled = new Map<string, Unsettled>();
  private running?: Promise<number>;
  private engine = '';

  constructor(private readonly opts: ScanLoopOptions) {
    this.loop = new BackoffLoop('malware scan', opts.intervalMs, LocalScanLoop.MAX_BACKOFF_MS, () => this.pass());
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.loop.stop();
    await this.running?.catch(() => undefined);
  }

  /** What the scanner is doing: its engine, files waiting for a settled verdict, and how many are overdue. */
  status(): { engine: string; waiting: number; overdue: number } {
    let overdue = 0;
    for (const u of this.unsettled.values()) if (u.alarmed) overdue++;
    return { engine: this.engine, waiting: this.unsettled.size, overdue };
  }

  /** One pass; returns how many verdicts were delivered and settled. Concurrent calls share one pass. */
  pass(): Promise<number> {
    this.running ??= this.passOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async passOnce(): Promise<number> {
    const now = this.opts.now ?? Date.now;
    this.engine = (await this.opts.scanner()).name;
    const seen = new Set<string>();
    let settled = 0;
    let token: string | undefined;
    do {
      const page = await this.opts.s3.send(new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: this.opts.prefix ?? SESSION_FILES_PREFIX, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        seen.add(o.Key);
        const tag = `${o.ETag ?? ''}:${o.LastModified?.getTime() ?? 0}`;
        if (this.done.get(o.Key) === tag) continue;
        const wait = this.unsettled.get(o.Key);
        if (wait && now() < wait.nextAttemptAt) {
          this.checkOverdue(o.Key, wait, now());
          continue;
        }
        if (await this.scanOne(o.Key, o.ETag, o.Size ?? 0, now)) {
          this.done.set(o.Key, tag);
          this.unsettled.delete(o.Key);
          settled++;
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // Objects gone (session ended, file refused): nothing left to wait for.
    for (const key of [...this.done.keys()]) if (!seen.has(key)) this.done.delete(key);
    for (const key of [...this.unsettled.keys()]) if (!seen.has(key)) this.unsettled.delete(key);
    return settled;
  }

  /** Scans and delivers one object; true once its verdict settled (or it needs none). */
  private async scanOne(key: string, eTag: string | undefined, size: number, now: () => number): Promise<boolean> {
    let status: ScanResultStatus | 'error' = 'error';
    let early = false;
    try {
      const scanner = await this.opts.scanner();
      this.engine = scanner.name;
      const answer: ScanAnswer =
        size > (this.opts.maxObjectBytes ?? 256 * 1024 * 1024) ? { status: 'FAILED' } : await scanner.scan(await this.read(key));
      status = answer.status;
      const outcome = await this.opts.deliver(scanResultEvent(this.opts.bucket, { key, eTag }, answer));
      if (outcome !== 'still_pending') return true;
    } catch (err) {
      // The verdict came before the file's record or message was written (a turn still queued,
      // or resumed after a restart): that is moments away, so the next pass tries again without
      // backing off further; any other failure backs off.
      if ((err as Error).name === 'VerdictTooEarly') early = true;
      else logger.warn('malware scan or verdict failed; trying again', { key, status, error: err as Error });
    }
    const u = this.unsettled.get(key) ?? { firstSeen: now(), attempts: 0, nextAttemptAt: 0, alarmed: false };
    u.attempts++;
    u.nextAttemptAt = now() + (early ? this.opts.intervalMs : Math.min(this.opts.intervalMs * 2 ** u.attempts, LocalScanLoop.MAX_BACKOFF_MS));
    this.unsettled.set(key, u);
    this.checkOverdue(key, u, now());
    return false;
  }

  private checkOverdue(key: string, u: Unsettled, at: number): void {
    if (u.alarmed || at - u.firstSeen < this.opts.alarmAfterMs) return;
    u.alarmed = true;
    logger.error('malware verdict overdue: the file stays pending (never treated as clean)', {
      key,
      alarm: 'ScanVerdictOverdue',
      waitingMs: at - u.firstSeen,
      attempts: u.attempts,
    });
  }

  private async read(key: string): Promise<Buffer> {
    const out = await this.opts.s3.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }
}
