import * as z from 'zod/mini';
import './zod-english';

/**
 * Everything the functions read from the environment, validated once. On AWS the CDK
 * stack sets these; locally `local/` does. A missing required value fails at cold start
 * with its name, not later in the middle of a request. Each setting's schema is built only
 * when a function reads that setting, so loadConfig does not construct all of them at cold
 * start (issue 10).
 */
const FIELDS = {
  TABLE_NAME: () => z.string().check(z.minLength(1)),
  BUCKET_NAME: () => z.string().check(z.minLength(1)),
  BOTS_DIR: () => z.string().check(z.minLength(1)),
  /** Public origin of the HTTP API, used for absolute /files links (Messenger, email). */
  PUBLIC_BASE_URL: () => z.url(),
  /** Where named secrets come from: Secrets Manager on AWS, a JSON file locally. */
  SECRETS_SOURCE: () => z._default(z.enum(['secrets-manager', 'file']), 'secrets-manager'),
  SECRETS_FILE: () => z.optional(z.string()),
  /** Bot secret `NAME` is the Secrets Manager secret `${SECRETS_PREFIX}NAME`. */
  SECRETS_PREFIX: () => z._default(z.string(), 'satchel/'),
  /** Name of the secret holding the HMAC key for session and file tokens. */
  SIGNING_KEY_SECRET: () => z.string().check(z.minLength(1)),
  /** Bot secret names this function is granted (IAM); each is read on its first use, none at cold start. */
  BOT_SECRETS: () => z._default(z.string(), ''),
  EVENTS_QUEUE_URL: () => z.optional(z.string()),
  MAIL_QUEUE_URL: () => z.optional(z.string()),
  /** The queue of per-file scan-overdue checks (SPEC 13; only with malware scanning on, on AWS). */
  SCAN_WATCH_QUEUE_URL: () => z.optional(z.string()),
  SENDER_EMAIL: () => z._default(z.string(), 'satchel@example.com'),
  /** SES configuration set every email names (bounce and complaint metrics); unset locally. */
  SES_CONFIGURATION_SET: () => z.optional(z.string().check(z.minLength(1))),
  FETCH_ALLOW_HOSTS: () => z._default(z.string(), ''),
  MESSENGER_API_URL: () => z._default(z.url(), 'https://graph.facebook.com/v21.0'),
  /** Channel API bases (SPEC 8, 12); tests and the local runtime point them at stand-ins. */
  TELEGRAM_API_URL: () => z._default(z.url(), 'https://api.telegram.org'),
  WHATSAPP_API_URL: () => z._default(z.url(), 'https://graph.facebook.com/v21.0'),
  TWILIO_API_URL: () => z._default(z.url(), 'https://api.twilio.com'),
  /**
   * How the agent console signs agents in: `cognito` (user name and password against the
   * user pool app client `COGNITO_CLIENT_ID` in `AWS_REGION`), `local` (the local runtime's
   * POST /local/agent-token). Unset: the console only accepts a pasted token.
   */
  AGENT_SIGN_IN: () => z.optional(z.enum(['cognito', 'local'])),
  COGNITO_CLIENT_ID: () => z.optional(z.string()),
  /** Where the console sends Cognito's API calls instead of `https://cognito-idp.{region}.amazonaws.com/` (the local stand-in, `/local/cognito`). */
  COGNITO_ENDPOINT: () => z.optional(z.string().check(z.minLength(1))),
  /**
   * The WebSocket API (SPEC 10): `SOCKET_URL` is what clients connect to (`wss://…`; locally
   * `ws://{host}/socket`, `{host}` being the host the client used), `SOCKET_ENDPOINT` the
   * API Gateway Management API endpoint pushes are posted to (locally the runtime's emulation).
   * Unset: no socket, clients poll.
   */
  SOCKET_URL: () => z.optional(z.string().check(z.minLength(1))),
  SOCKET_ENDPOINT: () => z.optional(z.url()),
  /** Issuer of agents' JWTs (the Cognito user pool's URL); the socket authorizer fetches its JWKS. */
  AGENT_JWT_ISSUER: () => z.optional(z.url()),
  /**
   * Malware scanning of files users and agents send (SPEC 13): `on` holds each file `pending`
   * until its verdict, `off` (deployed with `-c malwareScan=off`) marks them `not_scanned`.
   * The stack and the local runtime always set it (`on` unless turned off); unset (a test's
   * functions), files carry no scan state and are not held.
   */
  MALWARE_SCAN: () => z.optional(z.enum(['on', 'off'])),
  /** A file still pending this many minutes after it arrived raises the scan-overdue alarm (default 15; never treated as clean). */
  SCAN_PENDING_ALARM_MINUTES: () => z.optional(z.coerce.number().check(z.positive())),
  /** Local emulator endpoints; unset on AWS. */
  DYNAMODB_ENDPOINT: () => z.optional(z.url()),
  S3_ENDPOINT: () => z.optional(z.url()),
  SES_ENDPOINT: () => z.optional(z.url()),
  AWS_REGION: () => z._default(z.string(), 'us-east-1'),
};

type Fields = { [K in keyof typeof FIELDS]: ReturnType<(typeof FIELDS)[K]> };
export type Config = z.output<z.ZodMiniObject<Fields>>;
export type ConfigKey = keyof Config;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Settings groups the functions' wirings combine. */
export const STORAGE_SETTINGS = ['TABLE_NAME', 'BUCKET_NAME', 'DYNAMODB_ENDPOINT', 'S3_ENDPOINT', 'AWS_REGION'] as const;
/** The token signing key and where named secrets come from. */
export const SIGNING_SETTINGS = ['SIGNING_KEY_SECRET', 'SECRETS_SOURCE', 'SECRETS_FILE'] as const;
/** Every messaging channel's API base (each adapter names its own in shared/channels/registry.ts). */
export const CHANNEL_API_SETTINGS = ['MESSENGER_API_URL', 'TELEGRAM_API_URL', 'WHATSAPP_API_URL', 'TWILIO_API_URL'] as const;
/** Bot secrets: their prefix and the names this function may read (each read lazily, on first use). */
export const BOT_SECRET_SETTINGS = ['SECRETS_PREFIX', 'BOT_SECRETS'] as const;

/**
 * The settings one function reads, validated once at cold start: each function's wiring
 * names exactly the keys it uses, so its environment (set by the CDK from the same wiring's
 * needs) carries nothing else, and a missing one fails with its name.
 */
export function loadConfig<K extends ConfigKey>(keys: readonly K[], env: Record<string, string | undefined> = process.env): Pick<Config, K> {
  const parsed = z.object(Object.fromEntries(keys.map((k) => [k, FIELDS[k]()]))).safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  return parsed.data as unknown as Pick<Config, K>;
}

/** `FETCH_ALLOW_HOSTS` is a comma-separated list of `host:port` entries. */
export const allowHosts = (config: Pick<Config, 'FETCH_ALLOW_HOSTS'>): Set<string> =>
  new Set(
    config.FETCH_ALLOW_HOSTS.split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
