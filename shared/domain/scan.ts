import type { ScanState } from './transcript';

/**
 * Malware scanning (SPEC 13): what a scanner's answer means for a file. The scanner speaks
 * GuardDuty Malware Protection for S3's result statuses, on AWS and locally alike.
 */
export const SCAN_RESULT_STATUSES = ['NO_THREATS_FOUND', 'THREATS_FOUND', 'UNSUPPORTED', 'ACCESS_DENIED', 'FAILED'] as const;
export type ScanResultStatus = (typeof SCAN_RESULT_STATUSES)[number];

/** What the bot does with a file the scanner cannot judge (`attachments.unscannable`). */
export type UnscannablePolicy = 'refuse' | 'allow';

/**
 * The state a result settles a pending file in, or undefined when it settles nothing: the
 * scan itself failed (ACCESS_DENIED, FAILED), so the file stays pending — never clean — until
 * a later scan answers or the pending alarm fires.
 */
export function settledState(status: ScanResultStatus, unscannable: UnscannablePolicy): Exclude<ScanState, 'pending' | 'not_scanned'> | undefined {
  switch (status) {
    case 'NO_THREATS_FOUND':
      return 'clean';
    case 'THREATS_FOUND':
      return 'infected';
    case 'UNSUPPORTED':
      return unscannable === 'allow' ? 'clean' : 'unscannable';
    case 'ACCESS_DENIED':
    case 'FAILED':
      return undefined;
  }
}

/** Whether anyone may open the file now: never scanned (not held), clean, or scanning off. */
export const isOpenable = (scan: ScanState | undefined): boolean => scan === undefined || scan === 'clean' || scan === 'not_scanned';

/** Whether the file was refused by the scan: its bytes are gone and it has no link. */
export const isRefusedByScan = (scan: ScanState | undefined): scan is 'infected' | 'unscannable' => scan === 'infected' || scan === 'unscannable';

/** Whether a file pending since `createdAt` has waited past the alarm threshold at `now` (ms). */
export const isOverdue = (createdAt: number, now: number, alarmMinutes: number): boolean => now - createdAt >= alarmMinutes * 60_000;
