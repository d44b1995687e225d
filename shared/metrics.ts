import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * The one metrics emitter: CloudWatch embedded metric format (EMF) lines on stdout, which
 * Lambda's log delivery turns into metrics, so no API call and no extra permission. Namespace
 * `Satchel` unless `POWERTOOLS_METRICS_NAMESPACE` says otherwise. Each metric here is emitted
 * as a single-metric line at once (nothing waits for an end-of-invocation flush, so nothing is
 * lost when a handler throws or the local runtime calls a use case outside a handler).
 */
let emitter: Metrics | undefined;
/** Made on the first metric, not at cold start (most invocations emit none; issue 10). */
export const metrics = (): Metrics =>
  (emitter ??= new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Satchel',
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'satchel',
  }));

/** Metric names, for alarms and dashboards. */
export const BOT_SECRET_UNAVAILABLE = 'BotSecretUnavailable';

/**
 * One use of a bot secret that is missing or unreadable, with dimensions `service` and `bot`
 * (which bot is broken; an alarm over every bot sums them with a metric math SEARCH).
 */
export function countBotSecretUnavailable(botId: string): void {
  const single = metrics().singleMetric();
  single.addDimension('bot', botId);
  single.addMetric(BOT_SECRET_UNAVAILABLE, MetricUnit.Count, 1);
}

/** Malware scanning (SPEC 13): files held for a verdict, and verdicts that settled one. */
export const FILES_HELD_FOR_SCAN = 'FilesHeldForScan';
export const SCAN_VERDICTS_RECORDED = 'ScanVerdictsRecorded';

/** A file user or agent sent is now `pending` (the ScanVerdictOverdue alarm compares these with verdicts). */
export function countFileHeldForScan(): void {
  metrics().singleMetric().addMetric(FILES_HELD_FOR_SCAN, MetricUnit.Count, 1);
}

/** A verdict settled a pending file (the state is in the log line; alarms need one plain metric). */
export function countScanVerdict(): void {
  metrics().singleMetric().addMetric(SCAN_VERDICTS_RECORDED, MetricUnit.Count, 1);
}

/** A file still `pending` when its per-file check came (shared/app/scan-watch.ts): alarm ScanVerdictOverdueFile. */
export const SCAN_VERDICTS_OVERDUE = 'ScanVerdictsOverdue';

export function countScanVerdictOverdue(): void {
  metrics().singleMetric().addMetric(SCAN_VERDICTS_OVERDUE, MetricUnit.Count, 1);
}
