import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/**
 * Deployment settings, read once from CDK context (`cdk.json` or `-c key=value`) and
 * validated, so a typo fails `cdk synth` with the key's name instead of deploying
 * something half-configured. Values from `-c` arrive as strings; values from `cdk.json`
 * may already be numbers, booleans or arrays, so both are accepted.
 */
export interface SatchelSettings {
  /** From address of attachment emails; also the SES identity the mailer may send as. */
  readonly senderEmail: string;
  /** Create (and start verifying) an SES email identity for `senderEmail`. */
  readonly createSenderIdentity: boolean;
  /** `host:port` entries the Send Attachment action may fetch even though they are private. */
  readonly fetchAllowHosts: string;
  readonly messengerApiUrl: string;
  /** Channel API bases (SPEC 8, 12): `-c telegramApiUrl=…` etc.; the defaults are the real APIs. */
  readonly telegramApiUrl: string;
  readonly whatsappApiUrl: string;
  readonly twilioApiUrl: string;
  /** Origins allowed to POST uploads to the bucket from a browser. */
  readonly allowedOrigins: string[];
  /** S3 lifecycle backstop: session files older than this are deleted even if expiry missed them. */
  readonly fileRetentionDays: number;
  readonly removalPolicy: RemovalPolicy;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly logRetention: RetentionDays;
  readonly agentMfa: 'optional' | 'required';
  readonly cognitoFeaturePlan: 'essentials' | 'plus';
  readonly apiRateLimit: number;
  readonly apiBurstLimit: number;
  /**
   * Run the functions with `NODE_OPTIONS=--enable-source-maps`, so stack traces name the
   * TypeScript sources. The source map files ship in every bundle regardless; turning this
   * on makes each cold start read and parse them (see the README's Performance section).
   */
  readonly sourceMaps: boolean;
}

/** Every context key Satchel reads, with its default (documented in docs/deploy.md). */
export const CONTEXT_DEFAULTS = {
  senderEmail: 'satchel@example.com',
  createSenderIdentity: false,
  fetchAllowHosts: '',
  messengerApiUrl: 'https://graph.facebook.com/v21.0',
  telegramApiUrl: 'https://api.telegram.org',
  whatsappApiUrl: 'https://graph.facebook.com/v21.0',
  twilioApiUrl: 'https://api.twilio.com',
  allowedOrigins: '*',
  fileRetentionDays: 30,
  removalPolicy: 'retain',
  logLevel: 'INFO',
  logRetentionDays: 30,
  agentMfa: 'optional',
  cognitoFeaturePlan: 'essentials',
  apiRateLimit: 50,
  apiBurstLimit: 100,
  sourceMaps: false,
} as const;

export class SettingsError extends Error {
  override name = 'SettingsError';
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export function readSettings(scope: Construct): SatchelSettings {
  const raw = (key: keyof typeof CONTEXT_DEFAULTS): unknown => scope.node.tryGetContext(key) ?? CONTEXT_DEFAULTS[key];
  const fail = (key: string, value: unknown, expected: string): never => {
    throw new SettingsError(`Context "${key}" is ${JSON.stringify(value)}; expected ${expected}`);
  };

  const str = (key: keyof typeof CONTEXT_DEFAULTS): string => {
    const v = raw(key);
    return typeof v === 'string' ? v.trim() : fail(key, v, 'a string');
  };
  const bool = (key: keyof typeof CONTEXT_DEFAULTS): boolean => {
    const v = raw(key);
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    return fail(key, v, 'true or false');
  };
  const int = (key: keyof typeof CONTEXT_DEFAULTS, min: number, max: number): number => {
    const v = raw(key);
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
    return Number.isInteger(n) && n >= min && n <= max ? n : fail(key, v, `an integer from ${min} to ${max}`);
  };
  const oneOf = <T extends string>(key: keyof typeof CONTEXT_DEFAULTS, values: readonly T[]): T => {
    const v = str(key);
    return (values as readonly string[]).includes(v) ? (v as T) : fail(key, v, values.join(' or '));
  };

  const retention = (days: number): RetentionDays => {
    const allowed = Object.values(RetentionDays).filter((d): d is number => typeof d === 'number' && d > 0);
    return allowed.includes(days) ? (days as RetentionDays) : fail('logRetentionDays', days, `one of ${allowed.join(', ')}`);
  };

  const senderEmail = str('senderEmail');
  if (!EMAIL.test(senderEmail)) fail('senderEmail', senderEmail, 'an email address');

  const messengerApiUrl = str('messengerApiUrl');
  if (!/^https?:\/\/\S+$/.test(messengerApiUrl)) fail('messengerApiUrl', messengerApiUrl, 'an http(s) URL');
  const apiUrl = (key: 'telegramApiUrl' | 'whatsappApiUrl' | 'twilioApiUrl') => {
    const value = str(key);
    if (!/^https?:\/\/\S+$/.test(value)) fail(key, value, 'an http(s) URL');
    return value;
  };

  const originsRaw = raw('allowedOrigins');
  const allowedOrigins = (Array.isArray(originsRaw) ? originsRaw : String(originsRaw).split(','))
    .map((o) => String(o).trim())
    .filter(Boolean);
  if (allowedOrigins.length === 0 || allowedOrigins.some((o) => o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o))) {
    fail('allowedOrigins', originsRaw, '"*" or comma-separated origins like https://chat.example.com');
  }

  return {
    senderEmail,
    createSenderIdentity: bool('createSenderIdentity'),
    fetchAllowHosts: str('fetchAllowHosts'),
    messengerApiUrl,
    telegramApiUrl: apiUrl('telegramApiUrl'),
    whatsappApiUrl: apiUrl('whatsappApiUrl'),
    twilioApiUrl: apiUrl('twilioApiUrl'),
    allowedOrigins,
    fileRetentionDays: int('fileRetentionDays', 1, 3650),
    removalPolicy: oneOf('removalPolicy', ['retain', 'destroy'] as const) === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    logLevel: oneOf('logLevel', ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const),
    logRetention: retention(int('logRetentionDays', 1, 3653)),
    agentMfa: oneOf('agentMfa', ['optional', 'required'] as const),
    cognitoFeaturePlan: oneOf('cognitoFeaturePlan', ['essentials', 'plus'] as const),
    apiRateLimit: int('apiRateLimit', 1, 10000),
    apiBurstLimit: int('apiBurstLimit', 1, 5000),
    sourceMaps: bool('sourceMaps'),
  };
}
