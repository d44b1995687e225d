import { createIssuerJwtVerifier } from '../../shared/adapters/jwt-verifier';
import type { Secrets } from '../../shared/adapters/secrets';
import { once, secretsFrom, tokenSigner } from '../../shared/adapters/wiring-kit';
import { SIGNING_SETTINGS, loadConfig } from '../../shared/config';
import type { SocketAuthorizerPorts } from './handler';

/** The settings the socket authorizer reads: the signing key, and the agents' JWT issuer and audience. */
export const SOCKET_AUTHORIZER_CONFIG = [...SIGNING_SETTINGS, 'AGENT_JWT_ISSUER', 'COGNITO_CLIENT_ID', 'AWS_REGION'] as const;

/**
 * The socket authorizer's composition root: no table, no bucket. Agents' tokens are checked
 * against the user pool's published keys, as the HTTP API's JWT authorizer does; without an
 * issuer configured no agent token is accepted.
 */
export function socketAuthorizerWiring(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<SocketAuthorizerPorts> & { secrets?: Secrets } = {},
) {
  const config = loadConfig(SOCKET_AUTHORIZER_CONFIG, env);
  const secrets = overrides.secrets ?? secretsFrom(config);
  const issuer = config.AGENT_JWT_ISSUER;
  const audience = config.COGNITO_CLIENT_ID;
  const verifyAgentToken =
    overrides.verifyAgentToken ?? (issuer && audience ? createIssuerJwtVerifier({ issuer, audience }) : async () => undefined);
  return once(async (): Promise<SocketAuthorizerPorts> => ({
    verifyAgentToken,
    tokens: overrides.tokens ?? (await tokenSigner(secrets, config.SIGNING_KEY_SECRET)),
  }));
}
