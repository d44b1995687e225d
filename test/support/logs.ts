import { logger } from '../../shared/logger';

/** Captures every line the logger (or anything else) writes while `fn` runs, at DEBUG level. */
export async function captureLogs(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = { out: process.stdout.write, err: process.stderr.write };
  const tap = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
    return true;
  };
  process.stdout.write = tap as typeof process.stdout.write;
  process.stderr.write = tap as typeof process.stderr.write;
  logger.setLogLevel('DEBUG');
  // injectLambdaContext resets the level to the configured one (SILENT in tests) on each
  // invocation; keep DEBUG while capturing.
  const refresh = logger.refreshSampleRateCalculation;
  logger.refreshSampleRateCalculation = () => undefined;
  try {
    await fn();
  } finally {
    logger.refreshSampleRateCalculation = refresh;
    logger.setLogLevel('SILENT');
    process.stdout.write = original.out;
    process.stderr.write = original.err;
  }
  return lines;
}
