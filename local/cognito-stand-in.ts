import { randomBytes, randomUUID, scryptSync, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, type LocalAgentAuth } from './agent-auth';
import type { HttpEvent } from '../shared/http/http-handler';
import type { LambdaHttpHandler } from './http-server';
import { matchTotp, newTotpSecret } from './totp';

/**
 * A local stand-in for the Cognito user pool API (`cognito-idp`), for the agent console's
 * sign-in without an AWS account: the documented JSON protocol (POST /, `X-Amz-Target:
 * AWSCognitoIdentityProviderService.<Action>`, `application/x-amz-json-1.1`, errors as 400
 * `{__type, message}`), the pool settings the CDK stack deploys (email is the user name, a
 * 12-character password with upper, lower, digit and symbol, TOTP as the only MFA, optional
 * or required) and RS256 tokens of the local issuer, which the local JWT authorizer accepts.
 *
 * Actions: InitiateAuth (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH), RespondToAuthChallenge
 * (NEW_PASSWORD_REQUIRED, MFA_SETUP, SOFTWARE_TOKEN_MFA), AssociateSoftwareToken,
 * VerifySoftwareToken, SetUserMFAPreference, RevokeToken, and for administrators
 * AdminCreateUser, AdminSetUserPassword, AdminUserGlobalSignOut (unsigned: the local server
 * only answers requests to localhost). The local runtime serves it at `POST /local/cognito`. Request and response samples it follows are in
 * test/support/fixtures/cognito/ with the documentation they come from.
 */

export interface CognitoStandInOptions {
  /** Signs the tokens (the local runtime's issuer and key). */
  auth: LocalAgentAuth;
  /** `required`: agents without TOTP get MFA_SETUP at sign-in (as `-c agentMfa=required`). */
  mfa: 'optional' | 'required';
  /** ID and access token lifetime (Cognito: the app client's, 1 hour in the stack). */
  tokenSeconds?: number;
  /** Refresh token lifetime (12 hours in the stack). */
  refreshSeconds?: number;
  /** How long a sign-in's challenge session lasts (15 minutes in the stack). */
  sessionSeconds?: number;
  /** Where users and refresh tokens are kept across restarts; unset: memory only. */
  stateFile?: string;
  /** The clock (tests move it to reach the next TOTP step). */
  now?: () => number;
}

interface User {
  sub: string;
  /** The email address, which is the user name in this pool. */
  email: string;
  name?: string;
  status: 'FORCE_CHANGE_PASSWORD' | 'CONFIRMED';
  passwordHash: string;
  salt: string;
  /** A secret handed out by AssociateSoftwareToken, not verified yet. */
  pendingTotpSecret?: string;
  totpSecret?: string;
  totpEnabled: boolean;
  /** The last TOTP step accepted: a code is used at most once. */
  lastTotpStep?: number;
  /** Tokens issued before this (seconds) no longer count (AdminUserGlobalSignOut). */
  tokensValidAfter?: number;
}

interface RefreshToken {
  email: string;
  expiresAt: number;
}

interface Session {
  email: string;
  /** Which step the session may answer. */
  step: 'NEW_PASSWORD_REQUIRED' | 'MFA_SETUP' | 'MFA_SETUP_VERIFIED' | 'SOFTWARE_TOKEN_MFA';
  expiresAt: number;
}

/** One answer of the API: `status` 200 with the output, or 400 with a Cognito error. */
export interface CognitoReply {
  status: number;
  body: Record<string, unknown>;
}

/** A Cognito error by its documented `__type`. */
class CognitoError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const TARGET_PREFIX = 'AWSCognitoIdentityProviderService.';
const PASSWORD_RULES: [RegExp, string][] = [
  [/^.{12,}$/s, 'Password not long enough'],
  [/[a-z]/, 'Password must have lowercase characters'],
  [/[A-Z]/, 'Password must have uppercase characters'],
  [/[0-9]/, 'Password must have numeric characters'],
  [/[\^$*.[\]{}()?"!@#%&/\\,><':;|_~`=+\- ]/, 'Password must have symbol characters'],
];
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const hashPassword = (password: string, salt: string) => scryptSync(password, salt, 32).toString('hex');
/** Cognito sessions are long opaque strings (20-2048 characters). */
const newOpaque = () => randomBytes(48).toString('base64url');

export class CognitoStandIn {
  /** Every call, as `Action` or `InitiateAuth:FLOW` / `RespondToAuthChallenge:NAME` (tests count them). */
  readonly calls: string[] = [];
  private users = new Map<string, User>();
  private refreshTokens = new Map<string, RefreshToken>();
  private sessions = new Map<string, Session>();
  private readonly now: () => number;
  private readonly jwks;

  constructor(private readonly opts: CognitoStandInOptions) {
    this.now = opts.now ?? Date.now;
    this.jwks = createLocalJWKSet(opts.auth.jwks);
    if (opts.stateFile && existsSync(opts.stateFile)) {
      const state = JSON.parse(readFileSync(opts.stateFile, 'utf8')) as { users: User[]; refreshTokens: [string, RefreshToken][] };
      this.users = new Map(state.users.map((u) => [u.email, u]));
      this.refreshTokens = new Map(state.refreshTokens);
    }
  }

  /** The app client id the console must use: the local authorizer's audience. */
  get clientId(): string {
    return LOCAL_AUDIENCE;
  }

  hasUser(email: string): boolean {
    return this.users.has(email.toLowerCase());
  }

  /**
   * Creates a user as AdminCreateUser does. With `permanent` the password is final
   * (AdminSetUserPassword --permanent); otherwise it is temporary and the first sign-in
   * asks for a new one.
   */
  createUser(input: { email: string; name?: string; password: string; permanent?: boolean }): User {
    const email = input.email.trim().toLowerCase();
    if (!EMAIL.test(email)) throw new CognitoError('InvalidParameterException', 'Username should be an email.');
    if (this.users.has(email)) throw new CognitoError('UsernameExistsException', 'An account with the given email already exists.');
    this.checkPolicy(input.password);
    const salt = randomBytes(16).toString('hex');
    const user: User = {
      sub: randomUUID(),
      email,
      ...(input.name && { name: input.name }),
      status: input.permanent ? 'CONFIRMED' : 'FORCE_CHANGE_PASSWORD',
      passwordHash: hashPassword(input.password, salt),
      salt,
      totpEnabled: false,
    };
    this.users.set(email, user);
    this.save();
    return user;
  }

  /** Answers one API call (the HTTP server's body; tests may call it directly). */
  async call(target: string | undefined, input: unknown): Promise<CognitoReply> {
    try {
      if (!target?.startsWith(TARGET_PREFIX)) throw new CognitoError('UnknownOperationException', 'Missing or unknown X-Amz-Target');
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new CognitoError('SerializationException', 'The request body must be a JSON object');
      const action = target.slice(TARGET_PREFIX.length);
      const body = input as Record<string, unknown>;
      const out = await this.dispatch(action, body);
      return { status: 200, body: out };
    } catch (err) {
      if (err instanceof CognitoError) return { status: 400, body: { __type: err.type, message: err.message } };
      throw err;
    }
  }

  private async dispatch(action: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    switch (action) {
      case 'InitiateAuth':
        this.calls.push(`InitiateAuth:${String(body.AuthFlow)}`);
        return this.initiateAuth(body);
      case 'RespondToAuthChallenge':
        this.calls.push(`RespondToAuthChallenge:${String(body.ChallengeName)}`);
        return this.respondToAuthChallenge(body);
      case 'AssociateSoftwareToken':
        this.calls.push(action);
        return this.associateSoftwareToken(body);
      case 'VerifySoftwareToken':
        this.calls.push(action);
        return this.verifySoftwareToken(body);
      case 'SetUserMFAPreference':
        this.calls.push(action);
        return this.setUserMfaPreference(body);
      case 'RevokeToken':
        this.calls.push(action);
        this.checkClient(body);
        this.refreshTokens.delete(required(body, 'Token'));
        this.save();
        return {};
      case 'AdminCreateUser':
        this.calls.push(action);
        return this.adminCreateUser(body);
      case 'AdminSetUserPassword': {
        this.calls.push(action);
        const user = this.userNamed(required(body, 'Username'));
        this.checkPolicy(required(body, 'Password'));
        user.passwordHash = hashPassword(required(body, 'Password'), user.salt);
        user.status = body.Permanent === true ? 'CONFIRMED' : 'FORCE_CHANGE_PASSWORD';
        this.save();
        return {};
      }
      case 'AdminUserGlobalSignOut': {
        this.calls.push(action);
        const user = this.userNamed(required(body, 'Username'));
        user.tokensValidAfter = Math.floor(this.now() / 1000) + 1;
        for (const [token, r] of this.refreshTokens) if (r.email === user.email) this.refreshTokens.delete(token);
        this.save();
        return {};
      }
      default:
        throw new CognitoError('UnknownOperationException', `The local Cognito stand-in does not implement ${action}`);
    }
  }

  private async initiateAuth(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.checkClient(body);
    const params = (body.AuthParameters ?? {}) as Record<string, string>;
    if (body.AuthFlow === 'USER_PASSWORD_AUTH') {
      const user = this.users.get(String(params.USERNAME ?? '').trim().toLowerCase());
      // preventUserExistenceErrors: an unknown user reads exactly like a wrong password.
      if (!user || typeof params.PASSWORD !== 'string' || !samePassword(user, params.PASSWORD)) {
        throw new CognitoError('NotAuthorizedException', 'Incorrect username or password.');
      }
      if (user.status === 'FORCE_CHANGE_PASSWORD') {
        return this.challenge(user, 'NEW_PASSWORD_REQUIRED', {
          USER_ID_FOR_SRP: user.sub,
          requiredAttributes: '[]',
          userAttributes: JSON.stringify({ email: user.email, ...(user.name && { name: user.name }) }),
        });
      }
      return this.afterPassword(user);
    }
    if (body.AuthFlow === 'REFRESH_TOKEN_AUTH') {
      const token = String(params.REFRESH_TOKEN ?? '');
      const stored = this.refreshTokens.get(token);
      if (!stored) throw new CognitoError('NotAuthorizedException', 'Invalid Refresh Token');
      if (stored.expiresAt <= this.now() / 1000) {
        this.refreshTokens.delete(token);
        throw new CognitoError('NotAuthorizedException', 'Refresh Token has expired');
      }
      const user = this.users.get(stored.email);
      if (!user) throw new CognitoError('NotAuthorizedException', 'Invalid Refresh Token');
      // Without refresh token rotation Cognito answers new ID and access tokens only.
      return { AuthenticationResult: await this.tokens(user, false), ChallengeParameters: {} };
    }
    throw new CognitoError('InvalidParameterException', `${String(body.AuthFlow)} flow not enabled for this client`);
  }

  private async respondToAuthChallenge(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.checkClient(body);
    const name = required(body, 'ChallengeName');
    const session = this.session(required(body, 'Session'), name === 'MFA_SETUP' ? 'MFA_SETUP_VERIFIED' : name);
    const user = this.users.get(session.email)!;
    const responses = (body.ChallengeResponses ?? {}) as Record<string, string>;
    if (!responses.USERNAME) throw new CognitoError('InvalidParameterException', 'Missing required parameter USERNAME');
    // The user's sub (USER_ID_FOR_SRP, what SDKs send) or the email it signed in with.
    if (responses.USERNAME !== user.sub && responses.USERNAME.trim().toLowerCase() !== user.email) throw new CognitoError('NotAuthorizedException', 'Invalid session for the user.');
    if (name === 'NEW_PASSWORD_REQUIRED') {
      const password = responses.NEW_PASSWORD;
      if (!password) throw new CognitoError('InvalidParameterException', 'Missing required parameter NEW_PASSWORD');
      this.checkPolicy(password);
      user.passwordHash = hashPassword(password, user.salt);
      user.status = 'CONFIRMED';
      this.save();
      this.sessions.delete(String(body.Session));
      return this.afterPassword(user);
    }
    if (name === 'MFA_SETUP') {
      this.sessions.delete(String(body.Session));
      user.totpEnabled = true;
      this.save();
      return { AuthenticationResult: await this.tokens(user, true), ChallengeParameters: {} };
    }
    // SOFTWARE_TOKEN_MFA. A wrong code leaves the session usable for another try.
    this.useTotp(user, String(responses.SOFTWARE_TOKEN_MFA_CODE ?? ''), 'CodeMismatchException', 'Invalid code received for user');
    this.sessions.delete(String(body.Session));
    return { AuthenticationResult: await this.tokens(user, true), ChallengeParameters: {} };
  }

  private async associateSoftwareToken(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const secret = newTotpSecret();
    if (typeof body.Session === 'string') {
      const session = this.session(body.Session, 'MFA_SETUP');
      this.users.get(session.email)!.pendingTotpSecret = secret;
      this.save();
      this.sessions.delete(body.Session);
      return { SecretCode: secret, Session: this.newSession(session.email, 'MFA_SETUP') };
    }
    const user = await this.accessTokenUser(body);
    user.pendingTotpSecret = secret;
    this.save();
    return { SecretCode: secret };
  }

  private async verifySoftwareToken(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const code = required(body, 'UserCode');
    const bySession = typeof body.Session === 'string';
    const user = bySession ? this.users.get(this.session(body.Session as string, 'MFA_SETUP').email)! : await this.accessTokenUser(body);
    if (!user.pendingTotpSecret) throw new CognitoError('SoftwareTokenMFANotFoundException', 'Software Token MFA is not associated with the user. Call AssociateSoftwareToken first.');
    const step = matchTotp(user.pendingTotpSecret, code.trim(), this.now());
    if (step === undefined) throw new CognitoError('EnableSoftwareTokenMFAException', 'Code mismatch and fail enable Software Token MFA');
    user.totpSecret = user.pendingTotpSecret;
    delete user.pendingTotpSecret;
    user.lastTotpStep = step;
    this.save();
    if (!bySession) return { Status: 'SUCCESS' };
    this.sessions.delete(body.Session as string);
    return { Status: 'SUCCESS', Session: this.newSession(user.email, 'MFA_SETUP_VERIFIED') };
  }

  private async setUserMfaPreference(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const user = await this.accessTokenUser(body);
    const settings = body.SoftwareTokenMfaSettings as { Enabled?: boolean } | undefined;
    if (settings?.Enabled === true) {
      if (!user.totpSecret) throw new CognitoError('InvalidParameterException', 'User has not verified software token mfa');
      user.totpEnabled = true;
    } else if (settings?.Enabled === false) {
      if (this.opts.mfa === 'required') throw new CognitoError('InvalidParameterException', 'MFA is required in this user pool');
      user.totpEnabled = false;
    }
    this.save();
    return {};
  }

  private adminCreateUser(body: Record<string, unknown>): Record<string, unknown> {
    const attributes = Object.fromEntries(((body.UserAttributes ?? []) as { Name: string; Value: string }[]).map((a) => [a.Name, a.Value]));
    const password = body.TemporaryPassword;
    if (typeof password !== 'string') throw new CognitoError('InvalidParameterException', 'The local stand-in sends no invitation email: give TemporaryPassword');
    const user = this.createUser({ email: required(body, 'Username'), ...(attributes.name && { name: attributes.name }), password });
    return {
      User: {
        Username: user.sub,
        Attributes: [{ Name: 'sub', Value: user.sub }, { Name: 'email', Value: user.email }, ...(user.name ? [{ Name: 'name', Value: user.name }] : [])],
        UserStatus: user.status,
        Enabled: true,
        UserCreateDate: this.now() / 1000,
      },
    };
  }

  /** What follows a correct password: MFA set-up, an MFA code, or tokens. */
  private async afterPassword(user: User): Promise<Record<string, unknown>> {
    if (user.totpEnabled && user.totpSecret) return this.challenge(user, 'SOFTWARE_TOKEN_MFA', { USER_ID_FOR_SRP: user.sub });
    if (this.opts.mfa === 'required') return this.challenge(user, 'MFA_SETUP', { MFAS_CAN_SETUP: '["SOFTWARE_TOKEN_MFA"]', USER_ID_FOR_SRP: user.sub });
    return { AuthenticationResult: await this.tokens(user, true), ChallengeParameters: {} };
  }

  private challenge(user: User, name: Session['step'], parameters: Record<string, string>): Record<string, unknown> {
    return { ChallengeName: name, ChallengeParameters: parameters, Session: this.newSession(user.email, name) };
  }

  private newSession(email: string, step: Session['step']): string {
    const id = newOpaque();
    this.sessions.set(id, { email, step, expiresAt: this.now() / 1000 + (this.opts.sessionSeconds ?? 900) });
    return id;
  }

  private session(id: string, step: string): Session {
    const session = this.sessions.get(id);
    if (!session || session.step !== step || !this.users.has(session.email)) throw new CognitoError('NotAuthorizedException', 'Invalid session for the user.');
    if (session.expiresAt <= this.now() / 1000) {
      this.sessions.delete(id);
      throw new CognitoError('NotAuthorizedException', 'Invalid session for the user, session is expired.');
    }
    return session;
  }

  /** Accepts a TOTP code once: a code of a step already used is refused as Cognito does. */
  private useTotp(user: User, code: string, mismatchType: string, mismatchMessage: string): void {
    const step = user.totpSecret ? matchTotp(user.totpSecret, code.trim(), this.now()) : undefined;
    if (step === undefined) throw new CognitoError(mismatchType, mismatchMessage);
    if (user.lastTotpStep !== undefined && step <= user.lastTotpStep) throw new CognitoError('ExpiredCodeException', 'Your software token has already been used once.');
    user.lastTotpStep = step;
    this.save();
  }

  private async tokens(user: User, withRefresh: boolean): Promise<Record<string, unknown>> {
    const now = this.now();
    const ttlSeconds = this.opts.tokenSeconds ?? 3600;
    const authTime = Math.floor(now / 1000);
    const id = await this.opts.auth.sign(
      {
        sub: user.sub,
        aud: LOCAL_AUDIENCE,
        token_use: 'id',
        'cognito:username': user.sub,
        email: user.email,
        email_verified: true,
        ...(user.name && { name: user.name }),
        auth_time: authTime,
        jti: randomUUID(),
      },
      { ttlSeconds, now },
    );
    const access = await this.opts.auth.sign(
      { sub: user.sub, client_id: LOCAL_AUDIENCE, token_use: 'access', scope: 'aws.cognito.signin.user.admin', username: user.sub, auth_time: authTime, jti: randomUUID() },
      { ttlSeconds, now },
    );
    const result: Record<string, unknown> = { AccessToken: access.token, ExpiresIn: ttlSeconds, IdToken: id.token, TokenType: 'Bearer' };
    if (withRefresh) {
      const refresh = newOpaque();
      this.refreshTokens.set(refresh, { email: user.email, expiresAt: now / 1000 + (this.opts.refreshSeconds ?? 12 * 3600) });
      this.save();
      result.RefreshToken = refresh;
    }
    return result;
  }

  private async accessTokenUser(body: Record<string, unknown>): Promise<User> {
    const token = required(body, 'AccessToken');
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, { issuer: LOCAL_ISSUER, currentDate: new Date(this.now()) }));
    } catch (err) {
      throw new CognitoError('NotAuthorizedException', (err as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'Access Token has expired' : 'Invalid Access Token');
    }
    const user = [...this.users.values()].find((u) => u.sub === payload.sub);
    if (payload.token_use !== 'access' || !user) throw new CognitoError('NotAuthorizedException', 'Invalid Access Token');
    if (user.tokensValidAfter && (payload.iat ?? 0) < user.tokensValidAfter) throw new CognitoError('NotAuthorizedException', 'Access Token has been revoked');
    return user;
  }

  private userNamed(name: string): User {
    const key = name.trim().toLowerCase();
    const user = this.users.get(key) ?? [...this.users.values()].find((u) => u.sub === name);
    if (!user) throw new CognitoError('UserNotFoundException', 'User does not exist.');
    return user;
  }

  private checkClient(body: Record<string, unknown>): void {
    const clientId = required(body, 'ClientId');
    if (clientId !== LOCAL_AUDIENCE) throw new CognitoError('ResourceNotFoundException', `User pool client ${clientId} does not exist.`);
  }

  private checkPolicy(password: string): void {
    const broken = PASSWORD_RULES.find(([rule]) => !rule.test(password));
    if (broken) throw new CognitoError('InvalidPasswordException', `Password does not conform to policy: ${broken[1]}`);
  }

  private save(): void {
    if (!this.opts.stateFile) return;
    const state = { users: [...this.users.values()], refreshTokens: [...this.refreshTokens] };
    writeFileSync(this.opts.stateFile, JSON.stringify(state), { mode: 0o600 });
  }
}

/** Where the local runtime serves the stand-in: a local-only route on its own port (same origin as the console). */
export const COGNITO_STAND_IN_PATH = '/local/cognito';
const ROUTE_KEY = `POST ${COGNITO_STAND_IN_PATH}`;

/**
 * The agent function as the local runtime serves it with the stand-in: `POST /local/cognito`
 * is answered by the stand-in in Cognito's JSON protocol; every other route goes on.
 */
export function withCognitoStandIn(agentHandler: LambdaHttpHandler, standIn: CognitoStandIn): LambdaHttpHandler {
  return async (event: HttpEvent, context: Context) => {
    if (event.routeKey !== ROUTE_KEY) return agentHandler(event, context);
    const text = event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    let input: unknown;
    try {
      input = JSON.parse(text || '{}');
    } catch {
      input = undefined;
    }
    const reply = await standIn.call(event.headers['x-amz-target'], input);
    const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() };
    if (reply.status !== 200) headers['x-amzn-errortype'] = String(reply.body.__type);
    return { statusCode: reply.status, headers, body: JSON.stringify(reply.body) };
  };
}

function required(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '') {
    const member = key[0]!.toLowerCase() + key.slice(1);
    throw new CognitoError('InvalidParameterException', `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  return v;
}

function samePassword(user: User, password: string): boolean {
  return timingSafeEqual(Buffer.from(hashPassword(password, user.salt), 'hex'), Buffer.from(user.passwordHash, 'hex'));
}

/** The agent `npm start` creates in the stand-in, with a password kept in DATA_DIR and printed at start-up. */
export interface DemoAgent {
  email: string;
  name: string;
  password: string;
}

const DEMO_AGENT_FILE = 'demo-agent.json';

/**
 * The stand-in as the local runtime runs it: users kept in `DATA_DIR/cognito-users.json`, and
 * on first start a demo agent (agent@example.com) with a random permanent password, kept in
 * `DATA_DIR/demo-agent.json` so start-up can print it every time.
 */
export function localCognito(opts: Omit<CognitoStandInOptions, 'stateFile'> & { dataDir: string }): { standIn: CognitoStandIn; demoAgent: DemoAgent } {
  const { dataDir, ...rest } = opts;
  const standIn = new CognitoStandIn({ ...rest, stateFile: join(dataDir, 'cognito-users.json') });
  const file = join(dataDir, DEMO_AGENT_FILE);
  let demoAgent: DemoAgent | undefined = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DemoAgent) : undefined;
  if (!demoAgent || !standIn.hasUser(demoAgent.email)) {
    // Every character class the pool's policy asks for, then 16 random ones.
    demoAgent = { email: 'agent@example.com', name: 'Demo Agent', password: `Aa1!${randomBytes(12).toString('base64url')}` };
    if (!standIn.hasUser(demoAgent.email)) standIn.createUser({ ...demoAgent, permanent: true });
    writeFileSync(file, JSON.stringify(demoAgent), { mode: 0o600 });
  }
  return { standIn, demoAgent };
}
