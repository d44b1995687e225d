import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { channelSecretsOf, loadBotsDir, secretNames } from '../shared/bots/loader';
import type { Bot } from '../shared/bots/schema';

/** The bots a deployment ships: their files (copied into function bundles) and secret names. */
export interface BotBundle {
  readonly dir: string;
  /** Absolute paths of the `*.json` bot files. */
  readonly files: string[];
  readonly botIds: string[];
  /** Every secret name any bot references, sorted, without duplicates. */
  readonly secretNames: string[];
  /** The secrets needed to push messages to users: each channel's delivery secrets (page access tokens, bot tokens). */
  readonly deliverySecretNames: string[];
  /** Bots that email users' files (attachments.recipientEmail). */
  readonly emailBotIds: string[];
  /** The longest session timeout of any bot, in seconds. */
  readonly maxSessionTimeoutSeconds: number;
  /** The secrets that check channel webhooks (intake): each channel's webhook secrets (app secrets, verify tokens, secret tokens). */
  readonly webhookSecretNames: string[];
  /** The secrets a bot turn uses: Send Attachment authorizations and channel delivery secrets (actions). */
  readonly turnSecretNames: string[];
  /** The validated bots themselves (synth checks such as cdk/bot-checks.ts read them). */
  readonly bots: Bot[];
}

/**
 * Validates the bots at synth with the same loader the functions use at cold start, so an
 * invalid bot stops `cdk synth` with a BotFileError naming the file, JSON path and problem.
 */
export function loadBotBundle(dir: string): BotBundle {
  const absolute = resolve(dir);
  const bots = loadBotsDir(absolute);
  const files = readdirSync(absolute)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => join(absolute, name));
  return {
    dir: absolute,
    files,
    botIds: bots.map((b) => b.id),
    secretNames: unique(bots.flatMap(secretNames)),
    deliverySecretNames: unique(bots.flatMap((b) => channelSecretsOf(b).flatMap((c) => c.delivery.map((s) => s.secret)))),
    emailBotIds: bots.filter((b) => b.attachments.recipientEmail).map((b) => b.id),
    maxSessionTimeoutSeconds: Math.max(0, ...bots.map((b) => b.sessionTimeoutSeconds)),
    webhookSecretNames: unique(bots.flatMap((b) => channelSecretsOf(b).flatMap((c) => c.webhook.map((s) => s.secret)))),
    turnSecretNames: unique(
      bots.flatMap((b) => [
        ...channelSecretsOf(b).flatMap((c) => c.delivery.map((s) => s.secret)),
        ...Object.values(b.interactions).flatMap((it) => (it.type === 'action' && it.action.authorization ? [it.action.authorization.secret] : [])),
      ]),
    ),
    bots,
  };
}

const unique = (names: string[]) => [...new Set(names)].sort();
