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
 * The bot secrets this function may read (`BOT_SECRETS` names them for its IAM grant), read
 * lazily: none at cold start, each on its first use, cached by `secrets`. So a bot whose secret
 * is missing or unreadable fails alone, at the point it needs it (issue 13), and never stops
 * the function for every other bot.
 */
export function lazyBotSecrets(secrets: Secrets, config: Pick<Config, 'SECRETS_PREFIX'>): BotSecrets {
  return botSecrets(secrets, config.SECRETS_PREFIX);
}
