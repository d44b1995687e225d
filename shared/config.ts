import { z } from 'zod';

/**
 * Everything the functions read from the environment, validated once. On AWS the CDK
 * stack sets these; locally `local/` does. A missing required value fails at cold start
 * with its name, not later in the middle of a request.
 */
const ConfigSchema = z.object({
  TABLE_NAME: z.string().min(1),
  BUCKET_NAME: z.string().min(1),
  BOTS_DIR: z.string().min(1),
  /** Public origin of the HTTP API, used for absolute /files links (Messenger, email). */
  PUBLIC_BASE_URL: z.string().url(),
  /** Where named secrets come from: Secrets Manager on AWS, a JSON file locally. */
  SECRETS_SOURCE: z.enum(['secrets-manager', 'file']).default('secrets-manager'),
  SECRETS_FILE: z.string().optional(),
  /** Bot secret `NAME` is the Secrets Manager secret `${SECRETS_PREFIX}NAME`. */
  SECRETS_PREFIX: z.string().default('satchel/'),
  /** Name of the secret holding the HMAC key for session and file tokens. */
  SIGNING_KEY_SECRET: z.string().min(1),
  /** Bot secret names this function may read; all are read at cold start (a missing one fails it, named). */
  BOT_SECRETS: z.string().default(''),
  EVENTS_QUEUE_URL: z.string().optional(),
  MAIL_QUEUE_URL: z.string().optional(),
  SENDER_EMAIL: z.string().default('satchel@example.com'),
  FETCH_ALLOW_HOSTS: z.string().default(''),
  MESSENGER_API_URL: z.string().url().default('https://graph.facebook.com/v21.0'),
  /**
   * How the agent console signs agents in: `cognito` (user name and password against the
   * user pool app client `COGNITO_CLIENT_ID` in `AWS_REGION`), `local` (the local runtime's
   * POST /local/agent-token). Unset: the console only accepts a pasted token.
   */
  AGENT_SIGN_IN: z.enum(['cognito', 'local']).optional(),
  COGNITO_CLIENT_ID: z.string().optional(),
  /** Local emulator endpoints; unset on AWS. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  S3_ENDPOINT: z.string().url().optional(),
  SES_ENDPOINT: z.string().url().optional(),
  AWS_REGION: z.string().default('us-east-1'),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigKey = keyof Config;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Settings groups the functions' wirings combine. */
export const STORAGE_SETTINGS = ['TABLE_NAME', 'BUCKET_NAME', 'DYNAMODB_ENDPOINT', 'S3_ENDPOINT', 'AWS_REGION'] as const;
/** The token signing key and where named secrets come from. */
export const SIGNING_SETTINGS = ['SIGNING_KEY_SECRET', 'SECRETS_SOURCE', 'SECRETS_FILE'] as const;
/** Bot secrets: their prefix and the names this function may read (all checked at cold start). */
export const BOT_SECRET_SETTINGS = ['SECRETS_PREFIX', 'BOT_SECRETS'] as const;

/**
 * The settings one function reads, validated once at cold start: each function's wiring
 * names exactly the keys it uses, so its environment (set by the CDK from the same wiring's
 * needs) carries nothing else, and a missing one fails with its name.
 */
export function loadConfig<K extends ConfigKey>(keys: readonly K[], env: Record<string, string | undefined> = process.env): Pick<Config, K> {
  const mask = Object.fromEntries(keys.map((k) => [k, true])) as { [key in ConfigKey]?: true };
  const parsed = ConfigSchema.pick(mask).safeParse(env);
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
