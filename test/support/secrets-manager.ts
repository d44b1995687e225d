import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LOCAL_CREDENTIALS } from '../../shared/adapters/clients';

/**
 * A stand-in for Secrets Manager's `GetSecretValue` on loopback, answering with the documented
 * JSON 1.1 payloads (a value, or an error `__type` with its status), so the real SDK client and
 * the real adapter run against it. Secrets not in `values` are ResourceNotFoundException;
 * `fail` decides an error for a request (`n` counts that secret's requests from 1).
 */
export interface FakeSecretsManager {
  url: string;
  values: Record<string, string | { binary: true }>;
  /** An error for this request, or undefined to answer from `values`. */
  fail?: (secretId: string, n: number) => SecretsError | undefined;
  /** Requests received per SecretId. */
  requests: Record<string, number>;
  /** A real SDK client for this endpoint, without SDK retries (each get is one request). */
  client(): SecretsManagerClient;
  close(): Promise<void>;
}

export interface SecretsError {
  status: number;
  type: string;
}

export const THROTTLED: SecretsError = { status: 400, type: 'ThrottlingException' };
export const INTERNAL_ERROR: SecretsError = { status: 500, type: 'InternalServiceError' };
export const ACCESS_DENIED: SecretsError = { status: 400, type: 'AccessDeniedException' };
export const DECRYPTION_FAILURE: SecretsError = { status: 400, type: 'DecryptionFailure' };

export async function startSecretsManager(values: FakeSecretsManager['values'] = {}): Promise<FakeSecretsManager> {
  const fake: FakeSecretsManager = {
    url: '',
    values,
    requests: {},
    client: () => new SecretsManagerClient({ region: 'us-east-1', endpoint: fake.url, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 }),
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body: unknown, type?: string) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', ...(type && { 'x-amzn-errortype': type }) });
        res.end(JSON.stringify(body));
      };
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') return answer(400, { __type: 'UnknownOperationException' }, 'UnknownOperationException');
      const { SecretId: id } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId: string };
      const n = (fake.requests[id] = (fake.requests[id] ?? 0) + 1);
      const failure = fake.fail?.(id, n);
      if (failure) return answer(failure.status, { __type: failure.type, message: `${failure.type} (stand-in)` }, failure.type);
      const value = fake.values[id];
      if (value === undefined) {
        return answer(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." }, 'ResourceNotFoundException');
      }
      const arn = `arn:aws:secretsmanager:us-east-1:000000000000:secret:${id}-AbCdEf`;
      answer(200, { ARN: arn, Name: id, VersionId: 'v1', ...(typeof value === 'string' ? { SecretString: value } : { SecretBinary: Buffer.from('bin').toString('base64') }) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fake;
}
