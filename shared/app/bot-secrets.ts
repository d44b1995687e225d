import { MissingSecret } from '../domain/errors';
import { logger } from '../logger';
import { countBotSecretUnavailable } from '../metrics';
import type { Ports } from './ports';

/** Where a bot secret is used, for the log line that says which bot is broken and why. */
export interface SecretUse {
  botId: string;
  secretName: string;
  /** What needs it: `sendAttachment`, `messenger.appSecret`, `messenger.verifyToken`, `messenger.pageAccessToken`. */
  use: string;
  interactionId?: string;
  sessionId?: string;
}

/**
 * Reads one bot secret where it is used, so one bot's broken secret fails that bot alone
 * (issue 13). A secret that is missing or unreadable resolves to undefined after an error log
 * line naming the bot, the use (and interaction) and the secret's name (never a value) and a
 * `BotSecretUnavailable` metric for the bot; the caller then fails just this use (the action's
 * `onError`, a webhook refused). Any other failure (Secrets Manager throttling or down) is
 * rethrown: the work is retried rather than given up, since the user would rather get their
 * file a little later than be told it is unavailable.
 */
export async function readBotSecret(deps: Pick<Ports, 'botSecrets'>, use: SecretUse): Promise<string | undefined> {
  try {
    return await deps.botSecrets.get(use.secretName);
  } catch (err) {
    if (!(err instanceof MissingSecret)) throw err;
    logger.error('bot secret unavailable', { ...use, problem: err.problem });
    countBotSecretUnavailable(use.botId);
    return undefined;
  }
}
