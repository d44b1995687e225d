import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger. Structured JSON; callers pass ids and codes as fields, never whole
 * objects, secrets or file contents.
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'satchel',
  logLevel: (process.env.LOG_LEVEL as 'INFO' | undefined) ?? (process.env.VITEST ? 'SILENT' : 'INFO'),
});
