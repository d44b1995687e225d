import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as z from 'zod/mini';
import { CHANNEL_DEFINITIONS, type AnyChannelDefinition } from '../channels/definitions';
import { BotSchema, type Bot } from './schema';
import type { SecretRef } from './secret-ref';

/** A bot file that cannot be used; the message names the file, the JSON path and the problem. */
export class BotFileError extends Error {
  override name = 'BotFileError';
  constructor(
    readonly file: string,
    readonly problems: { path: string; message: string }[],
  ) {
    super(`Invalid bot file ${file}:\n${problems.map((p) => `  at ${p.path}: ${p.message}`).join('\n')}`);
  }
}

const jsonPath = (path: readonly PropertyKey[]): string =>
  '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p)) ? `.${String(p)}` : `[${JSON.stringify(String(p))}]`)).join('');

const describe = (issues: z.core.$ZodIssue[]) => issues.map((i) => ({ path: jsonPath(i.path), message: i.message }));

/** Parses and validates one bot from JSON text. `file` is only used in error messages. */
export function parseBot(text: string, file: string): Bot {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BotFileError(file, [{ path: '$', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  const parsed = BotSchema.safeParse(raw);
  if (!parsed.success) throw new BotFileError(file, describe(parsed.error.issues));
  return parsed.data;
}

/** Loads every `*.json` bot in `dir`; ids must be unique. */
export function loadBotsDir(dir: string): Bot[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    throw new BotFileError(dir, [{ path: '$', message: `cannot read bots directory: ${(err as Error).message}` }]);
  }
  const bots: Bot[] = [];
  const seen = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    const bot = parseBot(readFileSync(file, 'utf8'), file);
    const other = seen.get(bot.id);
    if (other) throw new BotFileError(file, [{ path: '$.id', message: `id "${bot.id}" is already used by ${other}` }]);
    seen.set(bot.id, file);
    bots.push(bot);
  }
  // One bot per channel account: the adapters pick the bot by the account a webhook names, so a
  // second bot claiming a page or number would have its secret verify the first one's traffic.
  for (const channel of CHANNEL_DEFINITIONS as readonly AnyChannelDefinition[]) {
    const owners = new Map<string, string>();
    for (const bot of bots) {
      const config = (bot.channels as Record<string, unknown>)[channel.name];
      if (config === undefined) continue;
      const account = channel.account({ botId: bot.id, config });
      const owner = owners.get(account);
      if (owner) {
        throw new BotFileError(seen.get(bot.id)!, [
          { path: `$.channels.${channel.name}`, message: `${channel.label} account "${account}" is already used by bot "${owner}"; each account belongs to one bot` },
        ]);
      }
      owners.set(account, bot.id);
    }
  }
  return bots;
}

/** Every secret name a bot references, for start-up checks and least-privilege grants. */
export function secretNames(bot: Bot): string[] {
  const names = new Set<string>();
  for (const { webhook, delivery } of channelSecretsOf(bot)) [...webhook, ...delivery].forEach((s) => names.add(s.secret));
  for (const it of Object.values(bot.interactions)) {
    if (it.type === 'action' && it.action.authorization) names.add(it.action.authorization.secret);
  }
  return [...names].sort();
}

/** The secrets of each channel a bot has (shared/channels/definitions.ts): webhook checks and delivery. */
export function channelSecretsOf(bot: Bot): { channel: string; webhook: SecretRef[]; delivery: SecretRef[] }[] {
  return (CHANNEL_DEFINITIONS as readonly AnyChannelDefinition[]).flatMap((c) => {
    const config = (bot.channels as Record<string, unknown>)[c.name];
    return config === undefined ? [] : [{ channel: c.name, ...c.secrets(config) }];
  });
}

/**
 * What a channel's `secretProblem` or `secretAdvice` says of each of a bot's channel secret
 * values, as start-up lines naming the bot, the secret and the channel.
 */
function channelSecretNotes(bot: Bot, valueOf: (name: string) => string, check: 'secretProblem' | 'secretAdvice'): string[] {
  return (CHANNEL_DEFINITIONS as readonly AnyChannelDefinition[]).flatMap((c) => {
    const config = (bot.channels as Record<string, unknown>)[c.name];
    const judge = c[check];
    if (config === undefined || !judge) return [];
    const { webhook, delivery } = c.secrets(config);
    return [...new Set([...webhook, ...delivery].map((s) => s.secret))].flatMap((name) => {
      const note = judge(config, name, valueOf(name));
      return note ? [`Bot "${bot.id}" secret "${name}" (channels.${c.name}): ${note}`] : [];
    });
  });
}

/** Problems with a bot's channel secret values (a Telegram secret token Telegram would refuse), for start-up checks. */
export const channelSecretProblems = (bot: Bot, valueOf: (name: string) => string): string[] => channelSecretNotes(bot, valueOf, 'secretProblem');

/** Advice about a bot's channel secret values that work but are weak (a short Telegram secret token), for start-up warnings. */
export const channelSecretAdvice = (bot: Bot, valueOf: (name: string) => string): string[] => channelSecretNotes(bot, valueOf, 'secretAdvice');

/** Bots by id, for handlers. */
export class BotRegistry {
  private readonly byId: Map<string, Bot>;
  constructor(bots: Bot[]) {
    this.byId = new Map(bots.map((b) => [b.id, b]));
  }
  static fromDir(dir: string): BotRegistry {
    return new BotRegistry(loadBotsDir(dir));
  }
  get(id: string): Bot | undefined {
    return this.byId.get(id);
  }
  all(): Bot[] {
    return [...this.byId.values()];
  }
  /** The bot whose Messenger channel is the given page. */
  byMessengerPage(pageId: string): Bot | undefined {
    return this.all().find((b) => b.channels.messenger?.pageId === pageId);
  }
}
