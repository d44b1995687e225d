import { readFileSync } from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MissingSecret } from '../domain/errors';
import type { BotSecrets } from '../app/ports';

export { MissingSecret };

/** Named secrets. Values are cached for the container's life and never logged. */
export interface Secrets {
  /** The value of secret `id`, or a MissingSecret error naming it. */
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

/** AWS: Secrets Manager, one request per secret per container. */
export class SecretsManagerSecrets implements Secrets {
  private readonly cache = new Map<string, Promise<string>>();
  constructor(private readonly client = new SecretsManagerClient({})) {}

  get(id: string): Promise<string> {
    let value = this.cache.get(id);
    if (!value) {
      value = this.client
        .send(new GetSecretValueCommand({ SecretId: id }))
        .then((out) => {
          if (out.SecretString === undefined) throw new MissingSecret(id);
          return out.SecretString;
        })
        .catch((err: unknown) => {
          this.cache.delete(id);
          if ((err as { name?: string }).name === 'ResourceNotFoundException') throw new MissingSecret(id);
          throw err;
        });
      this.cache.set(id, value);
    }
    return value;
  }
}

/** Bot secrets live under a prefix (`satchel/NAME` on AWS, bare names locally). */
export const botSecrets = (secrets: Secrets, prefix: string): BotSecrets => ({ get: (name) => secrets.get(`${prefix}${name}`) });
