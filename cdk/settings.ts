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
  /**
   * From address of attachment emails; also the SES identity the mailer may send as.
   * Undefined when email is disabled: no `senderEmail` given, or an address at a reserved
   * example domain (example.com, *.test, ...) that SES can never verify (see emailDisabledReason).
   */
  readonly senderEmail: string | undefined;
  /** Why email is off (for the synth warning), when `senderEmail` is undefined. */
  readonly emailDisabledReason?: string;
  /** Deployment stage (`-c stage=NAME`): '' for the default stack `Satchel`. */
  readonly stage: string;
  /** Address subscribed to the alarm topic (SNS email subscription), if any. */
  readonly alarmEmail?: string;
  /** Custom domain of the HTTP API and its ACM certificate (same region), both or neither. */
  readonly customDomain?: { readonly domainName: string; readonly certificateArn: string };
  /** Create (and start verifying) an SES email identity for `senderEmail`. */
  readonly createSenderIdentity: boolean;
  /** `host:port` entries the Send Attachment action may fetch even though they are private. */
  readonly fetchAllowHosts: string;
  readonly messengerApiUrl: string;
  /** Channel API bases (SPEC 8, 12): `-c telegramApiUrl=…` etc.; the defaults are the real APIs. */
  readonly telegramApiUrl: string;
  readonly whatsappApiUrl: string;
  readonly twilioApiUrl: string;
  /**
   * Origins allowed to POST uploads to the bucket from a browser. Undefined = the API's own
   * origin (or the custom domain's), which is where the chat page and console are served.
   */
  readonly allowedOrigins: string[] | undefined;
  /**
   * S3 lifecycle backstop: session files older than this are deleted even if expiry missed
   * them. Undefined = derived from the bots (cdk/retention.ts).
   */
  readonly fileRetentionDays: number | undefined;
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
  /** GuardDuty Malware Protection for S3 on the session files (SPEC 13); `off` removes the plan and the rule. */
  readonly malwareScan: 'on' | 'off';
  /** Minutes files may wait for a verdict before the ScanVerdictOverdue alarm (1-1440). */
  readonly scanPendingAlarmMinutes: number;
}

/** Every context key Satchel reads, with its default (documented in docs/deploy.md). */
export const CONTEXT_DEFAULTS = {
  /** '' = email disabled, with a synth warning. */
  senderEmail: '',
  createSenderIdentity: false,
  fetchAllowHosts: '',
  messengerApiUrl: 'https://graph.facebook.com/v21.0',
  telegramApiUrl: 'https://api.telegram.org',
  whatsappApiUrl: 'https://graph.facebook.com/v21.0',
  twilioApiUrl: 'https://api.twilio.com',
  /** '' = the API's (or custom domain's) origin only. */
  allowedOrigins: '',
  /** 0 = derived from the bots' longest sessionTimeoutSeconds (cdk/retention.ts). */
  fileRetentionDays: 0,
  removalPolicy: 'retain',
  logLevel: 'INFO',
  logRetentionDays: 30,
  agentMfa: 'optional',
  cognitoFeaturePlan: 'essentials',
  apiRateLimit: 50,
  apiBurstLimit: 100,
  sourceMaps: false,
  /** '' = the default stage: stack `Satchel`, secrets `satchel/NAME`. */
  stage: '',
  /** '' = nobody subscribed; subscribe to the AlarmTopicArn output yourself. */
  alarmEmail: '',
  /** Custom domain of the HTTP API (with certificateArn). */
  domainName: '',
  certificateArn: '',
  /** 'off' = no malware scanning: files are usable at once, marked not_scanned (SPEC 13). */
  malwareScan: 'on',
  scanPendingAlarmMinutes: 15,
} as const;

/**
 * Domains reserved for documentation and testing (RFC 2606, RFC 6761): nobody can receive
 * SES's verification mail there, so a sender at one can never send.
 */
const RESERVED_EMAIL_DOMAIN = /(^|\.)(example\.(com|net|org)|example|test|invalid|localhost)$/i;

/** A stage name: lower case, so it fits stack names, secret names and tags. */
const STAGE = /^[a-z][a-z0-9-]{0,19}$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/;

/** The stack id of a stage: `Satchel` for the default stage, `Satchel-<stage>` otherwise. */
export const stackIdFor = (stage: string): string => (stage ? `Satchel-${stage}` : 'Satchel');

/** Bot secret NAME is the Secrets Manager secret `<prefix>NAME`: `satchel/NAME`, or `satchel/<stage>/NAME`. */
export const secretsPrefixFor = (stage: string): string => (stage ? `satchel/${stage}/` : 'satchel/');

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

  const senderRaw = str('senderEmail');
  if (senderRaw && !EMAIL.test(senderRaw)) fail('senderEmail', senderRaw, 'an email address');
  const emailDisabledReason = !senderRaw
    ? 'no senderEmail is set'
    : RESERVED_EMAIL_DOMAIN.test(senderRaw.slice(senderRaw.lastIndexOf('@') + 1))
      ? `senderEmail ${senderRaw} is at a reserved example domain that SES can never verify`
      : undefined;

  const stage = str('stage');
  if (stage && !STAGE.test(stage)) fail('stage', stage, 'lower-case letters, digits and hyphens, starting with a letter, at most 20 characters');

  const alarmEmail = str('alarmEmail');
  if (alarmEmail && !EMAIL.test(alarmEmail)) fail('alarmEmail', alarmEmail, 'an email address');

  const domainName = str('domainName').toLowerCase();
  const certificateArn = str('certificateArn');
  if (domainName && !DOMAIN.test(domainName)) fail('domainName', domainName, 'a host name like chat.example.com');
  if (certificateArn && !ACM_ARN.test(certificateArn)) fail('certificateArn', certificateArn, 'an ACM certificate ARN');
  if (Boolean(domainName) !== Boolean(certificateArn)) {
    throw new SettingsError(
      `Context "domainName" and "certificateArn" go together: give both (-c domainName=chat.example.com -c certificateArn=arn:aws:acm:...) or neither`,
    );
  }

  const messengerApiUrl = str('messengerApiUrl');
  if (!/^https?:\/\/\S+$/.test(messengerApiUrl)) fail('messengerApiUrl', messengerApiUrl, 'an http(s) URL');
  const apiUrl = (key: 'telegramApiUrl' | 'whatsappApiUrl' | 'twilioApiUrl') => {
    const value = str(key);
    if (!/^https?:\/\/\S+$/.test(value)) fail(key, value, 'an http(s) URL');
    return value;
  };

  const originsRaw = raw('allowedOrigins');
  const origins = (Array.isArray(originsRaw) ? originsRaw : String(originsRaw).split(','))
    .map((o) => String(o).trim())
    .filter(Boolean);
  if (origins.some((o) => o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o))) {
    fail('allowedOrigins', originsRaw, '"*" or comma-separated origins like https://chat.example.com');
  }
  const retentionDays = int('fileRetentionDays', 0, 3650);

  return {
    senderEmail: emailDisabledReason ? undefined : senderRaw,
    ...(emailDisabledReason && { emailDisabledReason }),
    stage,
    ...(alarmEmail && { alarmEmail }),
    ...(domainName && { customDomain: { domainName, certificateArn } }),
    createSenderIdentity: bool('createSenderIdentity'),
    fetchAllowHosts: str('fetchAllowHosts'),
    messengerApiUrl,
    telegramApiUrl: apiUrl('telegramApiUrl'),
    whatsappApiUrl: apiUrl('whatsappApiUrl'),
    twilioApiUrl: apiUrl('twilioApiUrl'),
    allowedOrigins: origins.length > 0 ? origins : undefined,
    fileRetentionDays: retentionDays === 0 ? undefined : retentionDays,
    removalPolicy: oneOf('removalPolicy', ['retain', 'destroy'] as const) === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    logLevel: oneOf('logLevel', ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const),
    logRetention: retention(int('logRetentionDays', 1, 3653)),
    agentMfa: oneOf('agentMfa', ['optional', 'required'] as const),
    cognitoFeaturePlan: oneOf('cognitoFeaturePlan', ['essentials', 'plus'] as const),
    apiRateLimit: int('apiRateLimit', 1, 10000),
    apiBurstLimit: int('apiBurstLimit', 1, 5000),
    sourceMaps: bool('sourceMaps'),
    malwareScan: oneOf('malwareScan', ['on', 'off'] as const),
    scanPendingAlarmMinutes: int('scanPendingAlarmMinutes', 1, 1440),
  };
}
