import { isExpired } from '../domain/session';
import { logger } from '../logger';
import { countScanVerdictOverdue } from '../metrics';
import type { Ports, ScanWatchJob } from './ports';

/** Minutes a file may wait for its malware verdict before its check alarms, unless configured. */
export const DEFAULT_SCAN_PENDING_ALARM_MINUTES = 15;
/** A check that arrives this close to its due time is due (clocks of sender and consumer differ a little). */
const DUE_TOLERANCE_MS = 5_000;

/** What a check reads, and the watch it re-schedules an early check on. */
export type ScanWatchDeps = Pick<Ports, 'sessions' | 'attachments' | 'now' | 'scanWatch'>;

export type WatchOutcome = 'overdue' | 'settled' | 'file_gone' | 'session_gone' | 'not_due';

/** Seconds until a file held now is overdue. */
export const scanPendingAlarmSeconds = (deps: Pick<Ports, 'scanPendingAlarmMinutes'>): number =>
  Math.round((deps.scanPendingAlarmMinutes ?? DEFAULT_SCAN_PENDING_ALARM_MINUTES) * 60);

/**
 * The per-file overdue check of a file held for its malware verdict (SPEC 13, "a verdict that
 * never comes ... alarms after a configurable time"), scheduled when the file went `pending`
 * (shared/app/incoming-files.ts).
 * Primary course: the session is live and the attachment is still `pending` at its due time:
 * an error log with `alarm: "ScanVerdictOverdue"` and one `ScanVerdictsOverdue` metric, which
 * the ScanVerdictOverdueFile alarm watches. The file stays pending: nothing is ever marked clean.
 * A settled file, a file or session that is gone: nothing. A check that came early (the watch
 * queue delays at most 15 minutes at a time) is scheduled again for the time left, unless the
 * file has settled meanwhile; without a watch to re-schedule on, it is judged now.
 * Reads only; a repeated check of an overdue file logs and counts again (the alarm is the same).
 */
export async function checkScanOverdue(deps: ScanWatchDeps, job: ScanWatchJob): Promise<WatchOutcome> {
  const { sessionId, attachmentId } = job;
  const now = deps.now();
  const session = await deps.sessions.get(sessionId);
  if (!session || isExpired(session, now)) return quiet('session_gone', { ...job });
  const record = await deps.attachments.get(sessionId, attachmentId);
  if (!record) return quiet('file_gone', { ...job });
  if (record.scan !== 'pending') return quiet('settled', { ...job, scan: record.scan });
  const leftMs = job.dueAt - now;
  if (leftMs > DUE_TOLERANCE_MS && deps.scanWatch) {
    await deps.scanWatch.schedule(sessionId, attachmentId, Math.ceil(leftMs / 1000));
    return quiet('not_due', { ...job, leftSeconds: Math.ceil(leftMs / 1000) });
  }
  countScanVerdictOverdue();
  logger.error('malware verdict overdue: the file stays pending (never treated as clean)', {
    sessionId,
    attachmentId,
    from: record.from,
    alarm: 'ScanVerdictOverdue',
    waitingMs: now - record.createdAt,
  });
  return 'overdue';
}

function quiet(outcome: WatchOutcome, details: Record<string, unknown>): WatchOutcome {
  logger.debug('scan overdue check: nothing to raise', { outcome, ...details });
  return outcome;
}
