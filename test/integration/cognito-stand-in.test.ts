import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalAgentAuth } from '../../local/agent-auth';
import { CognitoStandIn } from '../../local/cognito-stand-in';
import { totp } from '../../local/totp';

/**
 * The local Cognito stand-in against the documented request and response samples in
 * test/support/fixtures/cognito (same keys, same error types), its tokens against the local
 * JWT authorizer, and its failure paths: a wrong client, a spent or expired session, forged
 * and expired tokens, policy, and state kept across a restart.
 */
interface Sample {
  name: string;
  action: string;
  request: unknown;
  response: Record<string, unknown>;
}
const SAMPLES = JSON.parse(readFileSync(new URL('../support/fixtures/cognito/samples.json', import.meta.url), 'utf8')) as Sample[];
const T0 = Date.UTC(2026, 0, 5, 9, 0, 10);
const EMAIL = 'ann@example.com';
const TEMP = 'Temporary-Pass1';
const NEW = 'Ann-chose-this-1!';

let dir: string;
let auth: LocalAgentAuth;
let clock = T0;
const now = () => clock;
const standIn = (mfa: 'optional' | 'required', stateFile?: string) => new CognitoStandIn({ auth, mfa, now, ...(stateFile && { stateFile }) });
const call = (s: CognitoStandIn, action: string, body: unknown) => s.call(`AWSCognitoIdentityProviderService.${action}`, body);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'satchel-cognito-'));
  auth = await LocalAgentAuth.load(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The keys of a body, one level into AuthenticationResult and ChallengeParameters. */
const shape = (body: Record<string, unknown>) =>
  Object.keys(body)
    .sort()
    .map((k) => (k === 'AuthenticationResult' || k === 'ChallengeParameters' ? `${k}{${Object.keys(body[k] as object).sort().join(',')}}` : k));

describe('documented exchanges', () => {
  it('answers every sample request, in order, with the documented keys and errors', async () => {
    clock = T0;
    const s = standIn('required');
    s.createUser({ email: EMAIL, name: 'Ann Example', password: TEMP });
    const vars: Record<string, string> = { clientId: s.clientId, email: EMAIL, temporaryPassword: TEMP, newPassword: NEW, wrongCode: '000000' };
    let secret = '';
    for (const sample of SAMPLES) {
      const code = secret && { code: totp(secret, clock), nextCode: totp(secret, clock + 30_000) };
      const fill = (text: string) => text.replace(/\{(\w+)\}/g, (_m, k: string) => (k in (code || {}) ? (code as Record<string, string>)[k]! : vars[k] ?? `{${k}}`));
      const request = JSON.parse(fill(JSON.stringify(sample.request)));
      const reply = await call(s, sample.action, request);
      expect([sample.name, reply.status], JSON.stringify(reply.body)).toEqual([sample.name, sample.response.__type ? 400 : 200]);
      if (sample.response.__type) {
        expect([sample.name, reply.body]).toEqual([sample.name, sample.response]);
        continue;
      }
      expect([sample.name, ...shape(reply.body)]).toEqual([sample.name, ...shape(sample.response)]);
      const body = reply.body as Record<string, any>;
      if (body.Session) vars.session = body.Session;
      if (body.ChallengeParameters?.USER_ID_FOR_SRP) vars.userIdForSrp = body.ChallengeParameters.USER_ID_FOR_SRP;
      if (body.SecretCode) secret = body.SecretCode;
      if (body.AuthenticationResult?.RefreshToken) vars.refreshToken = body.AuthenticationResult.RefreshToken;
      if (body.AuthenticationResult?.AccessToken) vars.accessToken = body.AuthenticationResult.AccessToken;
    }
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  });
});

/** Signs a new user in with a permanent password: the tokens of a pool without MFA. */
async function signedIn(s: CognitoStandIn, email = EMAIL) {
  s.createUser({ email, name: 'Ann Example', password: NEW, permanent: true });
  const reply = await call(s, 'InitiateAuth', { ClientId: s.clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: email, PASSWORD: NEW } });
  expect(reply.status).toBe(200);
  return reply.body.AuthenticationResult as { IdToken: string; AccessToken: string; RefreshToken: string; ExpiresIn: number };
}

describe('tokens', () => {
  it('issues an ID token the local authorizer accepts, naming the agent, and an access token it does not', async () => {
    clock = Date.now();
    const s = standIn('optional');
    const tokens = await signedIn(s);
    expect(tokens.ExpiresIn).toBe(3600);
    const claims = await auth.verify(tokens.IdToken);
    expect(claims).toMatchObject({ name: 'Ann Example', email: EMAIL, token_use: 'id' });
    expect(await auth.verify(tokens.AccessToken)).toBeUndefined();
  });

  it('refuses forged and expired access tokens, and refresh tokens past their life', async () => {
    clock = T0;
    const s = standIn('optional');
    const tokens = await signedIn(s);
    const forged = `${tokens.AccessToken.slice(0, -4)}AAAA`;
    expect((await call(s, 'AssociateSoftwareToken', { AccessToken: forged })).body).toEqual({ __type: 'NotAuthorizedException', message: 'Invalid Access Token' });
    // The ID token is not an access token.
    expect((await call(s, 'AssociateSoftwareToken', { AccessToken: tokens.IdToken })).body.__type).toBe('NotAuthorizedException');
    clock = T0 + 3601_000;
    expect((await call(s, 'AssociateSoftwareToken', { AccessToken: tokens.AccessToken })).body).toEqual({ __type: 'NotAuthorizedException', message: 'Access Token has expired' });
    const refreshed = await call(s, 'InitiateAuth', { ClientId: s.clientId, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: tokens.RefreshToken } });
    expect(refreshed.status).toBe(200);
    clock = T0 + 12 * 3600_000 + 1000;
    const late = await call(s, 'InitiateAuth', { ClientId: s.clientId, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: tokens.RefreshToken } });
    expect(late.body).toEqual({ __type: 'NotAuthorizedException', message: 'Refresh Token has expired' });
  });

  it('AdminUserGlobalSignOut ends refresh tokens and access tokens issued before it', async () => {
    clock = T0;
    const s = standIn('optional');
    const tokens = await signedIn(s);
    expect((await call(s, 'AdminUserGlobalSignOut', { UserPoolId: 'local', Username: EMAIL })).status).toBe(200);
    const refresh = await call(s, 'InitiateAuth', { ClientId: s.clientId, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: tokens.RefreshToken } });
    expect(refresh.body.__type).toBe('NotAuthorizedException');
    expect((await call(s, 'AssociateSoftwareToken', { AccessToken: tokens.AccessToken })).body.message).toBe('Access Token has been revoked');
  });
});

describe('failure paths', () => {
  it('names what is wrong with a request, as Cognito does', async () => {
    clock = T0;
    const s = standIn('optional');
    const cases: [string | undefined, unknown, string][] = [
      [undefined, {}, 'UnknownOperationException'],
      ['AWSCognitoIdentityProviderService.ForgotPassword', {}, 'UnknownOperationException'],
      ['AWSCognitoIdentityProviderService.InitiateAuth', [], 'SerializationException'],
      ['AWSCognitoIdentityProviderService.InitiateAuth', { AuthFlow: 'USER_PASSWORD_AUTH' }, 'InvalidParameterException'],
      ['AWSCognitoIdentityProviderService.InitiateAuth', { ClientId: 'someone-else', AuthFlow: 'USER_PASSWORD_AUTH' }, 'ResourceNotFoundException'],
      ['AWSCognitoIdentityProviderService.InitiateAuth', { ClientId: s.clientId, AuthFlow: 'USER_SRP_AUTH' }, 'InvalidParameterException'],
      ['AWSCognitoIdentityProviderService.RespondToAuthChallenge', { ClientId: s.clientId, ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: 'made-up-session-0000000' }, 'NotAuthorizedException'],
      ['AWSCognitoIdentityProviderService.AdminCreateUser', { Username: 'ann', TemporaryPassword: TEMP }, 'InvalidParameterException'],
      ['AWSCognitoIdentityProviderService.AdminCreateUser', { Username: 'bo@example.com', TemporaryPassword: 'short' }, 'InvalidPasswordException'],
      ['AWSCognitoIdentityProviderService.AdminCreateUser', { Username: 'bo@example.com' }, 'InvalidParameterException'],
    ];
    for (const [target, body, type] of cases) {
      const reply = await s.call(target, body);
      expect([target, reply.status, reply.body.__type]).toEqual([target, 400, type]);
      expect(typeof reply.body.message).toBe('string');
    }
    // An unknown user reads exactly like a wrong password (PreventUserExistenceErrors).
    const unknown = await call(s, 'InitiateAuth', { ClientId: s.clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'nobody@example.com', PASSWORD: NEW } });
    expect(unknown.body).toEqual({ __type: 'NotAuthorizedException', message: 'Incorrect username or password.' });
  });

  it('lets a challenge session expire after 15 minutes, and each session answer only its own step', async () => {
    clock = T0;
    const s = standIn('required');
    s.createUser({ email: EMAIL, password: TEMP });
    const first = await call(s, 'InitiateAuth', { ClientId: s.clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: EMAIL, PASSWORD: TEMP } });
    const session = first.body.Session as string;
    const wrongStep = await call(s, 'RespondToAuthChallenge', { ClientId: s.clientId, ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: session, ChallengeResponses: { USERNAME: EMAIL, SOFTWARE_TOKEN_MFA_CODE: '123456' } });
    expect(wrongStep.body.__type).toBe('NotAuthorizedException');
    expect((await call(s, 'VerifySoftwareToken', { Session: session, UserCode: '123456' })).body.__type).toBe('NotAuthorizedException');
    const someoneElse = await call(s, 'RespondToAuthChallenge', { ClientId: s.clientId, ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: session, ChallengeResponses: { USERNAME: 'bo@example.com', NEW_PASSWORD: NEW } });
    expect(someoneElse.body.__type).toBe('NotAuthorizedException');
    clock = T0 + 15 * 60_000 + 1000;
    const late = await call(s, 'RespondToAuthChallenge', { ClientId: s.clientId, ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: session, ChallengeResponses: { USERNAME: EMAIL, NEW_PASSWORD: NEW } });
    expect(late.body).toEqual({ __type: 'NotAuthorizedException', message: 'Invalid session for the user, session is expired.' });
  });

  it('turns TOTP on only once verified; a pool that requires it sends users without it to set it up', async () => {
    clock = T0;
    const optional = standIn('optional');
    const tokens = await signedIn(optional);
    const enable = { AccessToken: tokens.AccessToken, SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true } };
    expect((await call(optional, 'SetUserMFAPreference', enable)).body.__type).toBe('InvalidParameterException');
    expect((await call(optional, 'VerifySoftwareToken', { AccessToken: tokens.AccessToken, UserCode: '123456' })).body.__type).toBe('SoftwareTokenMFANotFoundException');
    const { SecretCode } = (await call(optional, 'AssociateSoftwareToken', { AccessToken: tokens.AccessToken })).body as { SecretCode: string };
    expect((await call(optional, 'VerifySoftwareToken', { AccessToken: tokens.AccessToken, UserCode: totp(SecretCode, clock) })).body).toEqual({ Status: 'SUCCESS' });
    expect((await call(optional, 'SetUserMFAPreference', enable)).status).toBe(200);
    const next = await call(optional, 'InitiateAuth', { ClientId: optional.clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: EMAIL, PASSWORD: NEW } });
    expect(next.body.ChallengeName).toBe('SOFTWARE_TOKEN_MFA');

    const required = standIn('required');
    const other = await (async () => {
      required.createUser({ email: EMAIL, password: NEW, permanent: true });
      return call(required, 'InitiateAuth', { ClientId: required.clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: EMAIL, PASSWORD: NEW } });
    })();
    expect(other.body.ChallengeName).toBe('MFA_SETUP');
  });

  it('keeps users and refresh tokens across a restart', async () => {
    clock = T0;
    const stateFile = join(dir, 'state.json');
    const before = standIn('optional', stateFile);
    const tokens = await signedIn(before, 'keep@example.com');
    const after = standIn('optional', stateFile);
    expect(after.hasUser('KEEP@example.com')).toBe(true);
    const refresh = await call(after, 'InitiateAuth', { ClientId: after.clientId, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: tokens.RefreshToken } });
    expect(refresh.status).toBe(200);
    expect(refresh.body.AuthenticationResult).not.toHaveProperty('RefreshToken');
  });
});
