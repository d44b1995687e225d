import { readFileSync } from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MissingSecret } from '../domain/errors';
import type { BotSecrets } from '../app/ports';

export { MissingSecret };

/** Named secrets. Values are cached for the container's life and never logged. */
export interface Secrets {
  /**
   * The value of secret `id`; a MissingSecret naming it when it is missing or unreadable; any
   * other rejection is transient (worth retrying).
   */
  get(id: string): Promise<string>;
}

/** Local mode: a git-ignored JSON file `{ "NAME": "value" }`, plus values the runtime adds. */
export class StaticSecrets implements Secrets {
  constructor(private readonly values: Record<string, string>) {}

  static fromFile(file: string | undefined, extra: Record<string, string> = {}): StaticSecrets {
    let values: Record<string, string> = {};
    if (file) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        text = '{}';
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new Error(`Secrets file ${file} is not valid JSON: ${(err as Error).message}`);
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
        throw new Error(`Secrets file ${file} must be a JSON object of string values`);
      }
      values = parsed as Record<string, string>;
    }
    return new StaticSecrets({ ...values, ...extra });
  }

  has(id: string): boolean {
    return Object.hasOwn(this.values, id);
  }

  /** Synchronous read for start-up checks; throws MissingSecret like `get`. */
  value(id: string): string {
    if (!this.has(id)) throw new MissingSecret(id);
    return this.values[id]!;
  }

  async get(id: string): Promise<string> {
    if (!this.has(id)) throw new MissingSecret(id);
    return this.values[id]!;
  }
}

/** Secrets Manager errors that asking again will not cure: the secret is there but not for us. */
const UNREADABLE_ERRORS = new Set(['AccessDeniedException', 'DecryptionFailure', 'InvalidRequestException', 'InvalidParameterException']);

/**
 * A Secrets Manager failure as the port reports it: MissingSecret for a secret that is not
 * there (`missing`) or not readable by this function (`unreadable`); undefined for anything
 * else (throttling, 5xx, network), which the caller rethrows as it came so the work is retried.
 */
export function permanentSecretFailure(err: unknown, id: string): MissingSecret | undefined {
  if (err instanceof MissingSecret) return err;
  const name = (err as { name?: string } | undefined)?.name ?? '';
  if (name === 'ResourceNotFoundException') return new MissingSecret(id, 'missing');
  if (UNREADABLE_ERRORS.has(name)) return new MissingSecret(id, 'unreadable');
  return undefined;
}

export interface SecretsManagerSecretsOptions {
  /**
   * How long a missing or unreadable secret is remembered as such (default 60 s): a bot whose
   * secret is absent costs one request a minute, not one per turn, and a secret created after
   * deploy is picked up within that time without a redeploy.
   */
  missMaxAgeMs?: number;
  now?: () => number;
}

/**
 * AWS: Secrets Manager, read lazily, the first time a secret is used. A value is cached for
 * the container's life (one request per secret per container); concurrent first reads share
 * one request; a missing or unreadable secret is remembered for `missMaxAgeMs`; a transient
 * failure is not remembered at all, so the next use (the retried record) asks again.
 */
export class SecretsManagerSecrets implements Secrets {
  private readonly cache = new Map<string, { value: Promise<string>; until: number }>();
  private readonly missMaxAgeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client = new SecretsManagerClient({}),
    options: SecretsManagerSecretsOptions = {},
  ) {
    this.missMaxAgeMs = options.missMaxAgeMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  get(id: string): Promise<string> {
    const cached = this.cache.get(id);
    if (cached && cached.until > this.now()) return cached.value;
    const entry = { value: Promise.resolve(''), until: Number.POSITIVE_INFINITY };
    entry.value = this.client.send(new GetSecretValueCommand({ SecretId: id })).then(
      (out) => {
        if (out.SecretString !== undefined) return out.SecretString;
        entry.until = this.now() + this.missMaxAgeMs;
        throw new MissingSecret(id, 'missing');
      },
      (err: unknown) => {
        const permanent = permanentSecretFailure(err, id);
        if (permanent) {
          entry.until = this.now() + this.missMaxAgeMs;
          throw permanent;
        }
        if (this.cache.get(id) === entry) this.cache.delete(id);
        throw err;
      },
    );
    this.cache.set(id, entry);
    return entry.value;
  }
}

/** Bot secrets live under a prefix (`satchel/NAME` on AWS, bare names locally). */
export const botSecrets = (secrets: Secrets, prefix: string): BotSecrets => ({ get: (name) => secrets.get(`${prefix}${name}`) });
