import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { BotSecrets } from '../app/ports';
import type { Config } from '../config';
import { TokenSigner } from '../domain/tokens';
import { botSecrets, SecretsManagerSecrets, StaticSecrets, type Secrets } from './secrets';

/**
 * Small builders the functions' composition roots (functions/<name>/wiring.ts) share. Each
 * builds one adapter from the settings it needs; none decides what a function uses.
 */

/** An async value built on first use and kept for the container's life; a failure is retried next time. */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= build().catch((err: unknown) => {
      value = undefined;
      throw err;
    });
    return value;
  };
}

/** Named secrets: Secrets Manager on AWS, a JSON file locally. */
export function secretsFrom(config: Pick<Config, 'SECRETS_SOURCE' | 'SECRETS_FILE' | 'AWS_REGION'>): Secrets {
  return config.SECRETS_SOURCE === 'file'
    ? StaticSecrets.fromFile(config.SECRETS_FILE)
    : new SecretsManagerSecrets(new SecretsManagerClient({ region: config.AWS_REGION }));
}

/** The session and file token signer, keyed by the named secret. */
export async function tokenSigner(secrets: Secrets, signingKeySecret: string): Promise<TokenSigner> {
  return new TokenSigner(await secrets.get(signingKeySecret));
}

/**
 * The bot secrets this function may read. All of `BOT_SECRETS` are read now: SPEC 1 makes a
 * missing secret a start-up error naming it (MissingSecret), not a surprise mid-conversation.
 */
export async function checkedBotSecrets(secrets: Secrets, config: Pick<Config, 'SECRETS_PREFIX' | 'BOT_SECRETS'>): Promise<BotSecrets> {
  const store = botSecrets(secrets, config.SECRETS_PREFIX);
  await Promise.all(config.BOT_SECRETS.split(',').filter(Boolean).map((name) => store.get(name)));
  return store;
}
