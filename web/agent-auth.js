// Agent sign-in against the Cognito user pool, called the way Cognito's own SDKs call it
// (POST, X-Amz-Target, application/x-amz-json-1.1): USER_PASSWORD_AUTH, then whichever
// challenge the pool sets — a new password (NEW_PASSWORD_REQUIRED), TOTP enrolment
// (MFA_SETUP) or a TOTP code (SOFTWARE_TOKEN_MFA) — and REFRESH_TOKEN_AUTH shortly before the
// ID token expires, so an agent stays signed in for the refresh token's life (12 h on AWS).
// Also the "Two-factor authentication" screen for a signed-in agent (optional MFA).
//
// The tokens (refresh token included) live in the tab's sessionStorage: a reload mid-takeover
// keeps the agent signed in, closing the tab forgets them, other tabs never see them, and the
// page's Content-Security-Policy lets no script but the page's own run to read them.
'use strict';

window.SatchelAgentAuth = (() => {
  const { config } = window.Satchel;
  const $ = (id) => document.getElementById(id);
  const STATE_KEY = 'satchel.agent.cognito';
  const ISSUER = 'Satchel';
  /** Refresh this long before the ID token expires (at most a quarter of its life). */
  const REFRESH_MARGIN_S = 300;
  /** After a refresh that could not reach Cognito, try again this soon. */
  const RETRY_MS = 15000;

  let hooks = { signedIn() {}, signedOut() {}, tokenRefreshed() {} };
  /** `{refreshToken, accessToken, idToken, account}` of the signed-in agent, or null. */
  let state = readState();
  /** The challenge being answered: `{name, session, username, account}`. */
  let pending = null;
  let refreshTimer = null;
  let refreshing = null;
  /** What the TOTP form is doing: enrolling at sign-in (`session`) or signed in (`access`). */
  let totpMode = null;

  function readState() {
    try {
      return JSON.parse(sessionStorage.getItem(STATE_KEY) || 'null');
    } catch {
      return null;
    }
  }
  function saveState() {
    if (state) sessionStorage.setItem(STATE_KEY, JSON.stringify(state));
    else sessionStorage.removeItem(STATE_KEY);
  }

  const enabled = () => config.signIn === 'cognito' && Boolean(config.cognito);

  /** A Cognito error: `type` is its `__type` (NotAuthorizedException, CodeMismatchException, ...). */
  class CognitoError extends Error {
    constructor(type, message) {
      super(message);
      this.type = type;
    }
  }

  async function cognito(target, body) {
    const url = config.cognito.endpoint || `https://cognito-idp.${config.cognito.region}.amazonaws.com/`;
    let res;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityProviderService.${target}` },
        body: JSON.stringify(body),
        cache: 'no-store',
        // A hung sign-in service must not hold the console (a refresh on a 401 runs inside a message's send).
        signal: AbortSignal.timeout ? AbortSignal.timeout(30_000) : undefined,
      });
    } catch {
      throw new CognitoError('NetworkError', 'Cannot reach the sign-in service. Check your connection and try again.');
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new CognitoError(String(data.__type || '').split('#').pop() || `HTTP ${res.status}`, data.message || 'Sign-in failed.');
    return data;
  }

  /** What an agent should read for an error Cognito gave. */
  function explain(err) {
    switch (err.type) {
      case 'CodeMismatchException':
        return 'That code is not right. Enter the newest 6-digit code from your authenticator app.';
      case 'EnableSoftwareTokenMFAException':
        return 'That code does not match the key. Check the key in your authenticator app and enter its newest code.';
      case 'ExpiredCodeException':
        return 'That code was already used. Wait for the app to show a new code and enter it.';
      case 'InvalidPasswordException':
        return `Please choose another password. ${err.message.replace(/^Password does not conform to policy:\s*/, '')}.`;
      case 'PasswordResetRequiredException':
        return 'Your password must be reset. Ask your administrator for a new temporary password.';
      case 'UserNotConfirmedException':
        return 'Your account is not confirmed yet. Ask your administrator.';
      case 'TooManyRequestsException':
      case 'LimitExceededException':
        return 'Too many attempts. Please wait a minute and try again.';
      default:
        return err.message;
    }
  }

  const payloadOf = (jwt) => {
    try {
      return JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    } catch {
      return {};
    }
  };

  // ---- tokens and refresh ---------------------------------------------------------------

  function accept(result, account) {
    state = {
      refreshToken: result.RefreshToken || (state && state.refreshToken),
      accessToken: result.AccessToken,
      idToken: result.IdToken,
      account: account || (state && state.account) || payloadOf(result.IdToken).email || '',
    };
    saveState();
    schedule();
  }

  function schedule() {
    clearTimeout(refreshTimer);
    if (!state || !state.refreshToken || !state.idToken) return;
    const { exp, iat } = payloadOf(state.idToken);
    if (!exp) return;
    const margin = Math.min(REFRESH_MARGIN_S, Math.max(1, (exp - (iat || exp)) / 4));
    const wait = Math.max(1000, (exp - margin) * 1000 - Date.now());
    refreshTimer = setTimeout(() => void refresh(), wait);
  }

  /**
   * New ID and access tokens from the refresh token: resolves to the new ID token, or null
   * when there is no refresh token or Cognito refused it (the agent must sign in again, and
   * is sent there). Calls made at once share one request.
   */
  function refresh() {
    if (!state || !state.refreshToken || !enabled()) return Promise.resolve(null);
    if (!refreshing) {
      refreshing = (async () => {
        try {
          const data = await cognito('InitiateAuth', {
            ClientId: config.cognito.clientId,
            AuthFlow: 'REFRESH_TOKEN_AUTH',
            AuthParameters: { REFRESH_TOKEN: state.refreshToken },
          });
          if (!data.AuthenticationResult) throw new CognitoError('NotAuthorizedException', 'No tokens returned');
          accept(data.AuthenticationResult);
          hooks.tokenRefreshed(state.idToken);
          return state.idToken;
        } catch (err) {
          if (err.type === 'NetworkError') {
            // Cognito out of reach: keep the tokens and try again soon; a 401 meanwhile ends the session.
            clearTimeout(refreshTimer);
            refreshTimer = setTimeout(() => void refresh(), RETRY_MS);
            return null;
          }
          forget();
          hooks.signedOut('Your sign-in has ended. Please sign in again.');
          return null;
        } finally {
          refreshing = null;
        }
      })();
    }
    return refreshing;
  }

  /** Drops the tokens and any sign-in in progress (the console calls it when it shows sign-in). */
  function forget() {
    clearTimeout(refreshTimer);
    notice('');
    state = null;
    saveState();
    resetForm();
  }

  /** Signing out revokes the refresh token, so it cannot be used again even if it was copied. */
  function signOut() {
    const token = state && state.refreshToken;
    forget();
    if (token && enabled()) cognito('RevokeToken', { ClientId: config.cognito.clientId, Token: token }).catch(() => undefined);
  }

  // ---- sign-in steps --------------------------------------------------------------------

  function signInError(text) {
    $('sign-in-error').hidden = !text;
    $('sign-in-error').textContent = text || '';
  }

  /** Shows the fields of one step of the Cognito form. */
  function showStep(step) {
    const field = (id, on) => {
      $(`${id}-field`).hidden = !on;
      $(id).required = on;
    };
    field('cognito-password', step === 'password');
    field('cognito-new-password', step === 'NEW_PASSWORD_REQUIRED');
    field('cognito-code', step === 'SOFTWARE_TOKEN_MFA');
    $('cognito-user').readOnly = step !== 'password';
    $('cognito-form').hidden = step === 'MFA_SETUP';
    if (step === 'NEW_PASSWORD_REQUIRED') $('cognito-new-password').focus();
    if (step === 'SOFTWARE_TOKEN_MFA') $('cognito-code').focus();
  }

  function resetForm() {
    pending = null;
    if (!$('cognito-form')) return;
    for (const id of ['cognito-password', 'cognito-new-password', 'cognito-code']) $(id).value = '';
    showStep('password');
    closeTotp();
  }

  /** Restarts the sign-in at the password, saying why. */
  function restart(message) {
    resetForm();
    $('cognito-form').hidden = !enabled();
    signInError(message);
    $('cognito-password').focus();
  }

  async function step(data, username, account) {
    if (data.AuthenticationResult) {
      accept(data.AuthenticationResult, account);
      pending = null;
      showStep('password');
      closeTotp();
      hooks.signedIn(state.idToken);
      return;
    }
    const params = data.ChallengeParameters || {};
    // In a pool whose user name is the email, Cognito's own name for the user is USER_ID_FOR_SRP.
    pending = { name: data.ChallengeName, session: data.Session, username: params.USER_ID_FOR_SRP || username, account };
    if (data.ChallengeName === 'NEW_PASSWORD_REQUIRED') {
      showStep('NEW_PASSWORD_REQUIRED');
      return signInError('Please choose a new password to finish signing in.');
    }
    if (data.ChallengeName === 'SOFTWARE_TOKEN_MFA') {
      showStep('SOFTWARE_TOKEN_MFA');
      return signInError('Enter the code from your authenticator app.');
    }
    if (data.ChallengeName === 'MFA_SETUP') {
      showStep('MFA_SETUP');
      // The set-up step's heading says what is asked; nothing went wrong.
      signInError('');
      try {
        const assoc = await cognito('AssociateSoftwareToken', { Session: pending.session });
        pending.session = assoc.Session;
        return openTotp('session', assoc.SecretCode, account);
      } catch (err) {
        return restart(explain(err));
      }
    }
    restart(`This console cannot complete the sign-in step "${data.ChallengeName}". Ask your administrator, or sign in with a token.`);
  }

  async function submitSignIn(e) {
    e.preventDefault();
    const username = $('cognito-user').value.trim();
    const clientId = config.cognito.clientId;
    const button = $('cognito-form').querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      if (pending && pending.name === 'NEW_PASSWORD_REQUIRED') {
        const data = await cognito('RespondToAuthChallenge', {
          ClientId: clientId,
          ChallengeName: 'NEW_PASSWORD_REQUIRED',
          Session: pending.session,
          ChallengeResponses: { USERNAME: pending.username, NEW_PASSWORD: $('cognito-new-password').value },
        });
        await step(data, pending.username, pending.account);
      } else if (pending && pending.name === 'SOFTWARE_TOKEN_MFA') {
        const data = await cognito('RespondToAuthChallenge', {
          ClientId: clientId,
          ChallengeName: 'SOFTWARE_TOKEN_MFA',
          Session: pending.session,
          ChallengeResponses: { USERNAME: pending.username, SOFTWARE_TOKEN_MFA_CODE: $('cognito-code').value.trim() },
        });
        await step(data, pending.username, pending.account);
      } else {
        const data = await cognito('InitiateAuth', {
          ClientId: clientId,
          AuthFlow: 'USER_PASSWORD_AUTH',
          AuthParameters: { USERNAME: username, PASSWORD: $('cognito-password').value },
        });
        await step(data, username, username);
      }
    } catch (err) {
      failed(err);
    } finally {
      button.disabled = false;
    }
  }

  /** A failed step: a wrong code or password can be tried again; a lost session starts over. */
  function failed(err) {
    if (pending && err.type === 'NotAuthorizedException') return restart('That sign-in took too long or was interrupted. Please sign in again.');
    if (!pending) $('cognito-password').value = '';
    if (pending && pending.name === 'SOFTWARE_TOKEN_MFA') {
      $('cognito-code').value = '';
      $('cognito-code').focus();
    }
    signInError(explain(err));
  }

  // ---- TOTP enrolment -------------------------------------------------------------------

  /** `otpauth://totp/Issuer:account?secret=...` as authenticator apps import it. */
  const otpauthUri = (secret, account) =>
    `otpauth://totp/${encodeURIComponent(ISSUER)}:${encodeURIComponent(account)}?${new URLSearchParams({ secret, issuer: ISSUER, algorithm: 'SHA1', digits: '6', period: '30' })}`;

  function totpError(text) {
    $('totp-error').hidden = !text;
    $('totp-error').textContent = text || '';
  }

  /** Shows the key and the setup link; `mode` says how the code is then verified. */
  function openTotp(mode, secret, account) {
    totpMode = mode;
    const form = $('totp-form');
    $('totp-secret').textContent = secret.replace(/(.{4})/g, '$1 ').trim();
    $('totp-secret').dataset.secret = secret;
    $('totp-uri').value = otpauthUri(secret, account || 'agent');
    $('totp-code').value = '';
    $('totp-status').textContent = '';
    totpError('');
    $('totp-cancel').hidden = mode !== 'access';
    if (mode === 'access') {
      $('totp-dialog').append(form);
      form.hidden = false;
      if (!$('totp-dialog').open) $('totp-dialog').showModal();
    } else {
      $('sign-in').insertBefore(form, $('token-details'));
      form.hidden = false;
    }
    $('totp-code').focus();
  }

  function closeTotp() {
    totpMode = null;
    const form = $('totp-form');
    if (!form) return;
    form.hidden = true;
    $('sign-in').insertBefore(form, $('token-details'));
    if ($('totp-dialog').open) $('totp-dialog').close();
  }

  async function submitTotp(e) {
    e.preventDefault();
    const code = $('totp-code').value.trim();
    if (!/^\d{6}$/.test(code)) return totpError('Enter the 6 digits your authenticator app shows.');
    const button = $('totp-form').querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      if (totpMode === 'session') {
        const verified = await cognito('VerifySoftwareToken', { Session: pending.session, UserCode: code, FriendlyDeviceName: 'Authenticator app' });
        pending.session = verified.Session;
        const data = await cognito('RespondToAuthChallenge', {
          ClientId: config.cognito.clientId,
          ChallengeName: 'MFA_SETUP',
          Session: pending.session,
          ChallengeResponses: { USERNAME: pending.username },
        });
        await step(data, pending.username, pending.account);
      } else if (totpMode === 'access') {
        await cognito('VerifySoftwareToken', { AccessToken: state.accessToken, UserCode: code, FriendlyDeviceName: 'Authenticator app' });
        await cognito('SetUserMFAPreference', { AccessToken: state.accessToken, SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true } });
        closeTotp();
        notice('Two-factor authentication is on. From your next sign-in, the console asks for a code from your app.');
      }
    } catch (err) {
      if (totpMode === 'session' && err.type === 'NotAuthorizedException') return restart('That sign-in took too long or was interrupted. Please sign in again.');
      totpError(explain(err));
      $('totp-code').value = '';
      $('totp-code').focus();
    } finally {
      button.disabled = false;
    }
  }

  /** "Two-factor authentication" for a signed-in agent: a new key, verified, then turned on. */
  async function startEnrolment() {
    if (!state || !state.accessToken) return;
    try {
      const assoc = await cognito('AssociateSoftwareToken', { AccessToken: state.accessToken });
      openTotp('access', assoc.SecretCode, state.account);
    } catch (err) {
      if (err.type === 'NotAuthorizedException' && (await refresh())) return startEnrolment();
      notice(explain(err));
    }
  }

  function notice(text) {
    $('auth-notice').hidden = !text;
    $('auth-notice').textContent = text || '';
  }

  function copy(text, what) {
    const done = () => ($('totp-status').textContent = `${what} copied.`);
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, () => undefined);
  }

  // ---- wiring -----------------------------------------------------------------------------

  /**
   * Connects the console: `signedIn(idToken)` after a sign-in, `tokenRefreshed(idToken)` after
   * each refresh, `signedOut(message)` when a refresh is refused.
   */
  function attach(h) {
    hooks = { ...hooks, ...h };
    $('cognito-form').addEventListener('submit', submitSignIn);
    $('totp-form').addEventListener('submit', submitTotp);
    $('totp-cancel').addEventListener('click', closeTotp);
    $('totp-dialog').addEventListener('close', () => totpMode === 'access' && closeTotp());
    $('totp-copy-secret').addEventListener('click', () => copy($('totp-secret').dataset.secret, 'Key'));
    $('totp-copy-uri').addEventListener('click', () => copy($('totp-uri').value, 'Link'));
    $('two-factor').addEventListener('click', () => void startEnrolment());
    if (!enabled()) state = null;
    schedule();
  }

  /** Whether this sign-in came from Cognito here (so it can refresh and enrol TOTP). */
  const active = () => Boolean(enabled() && state && state.refreshToken);

  return { attach, refresh, forget, signOut, active, idToken: () => (state && state.idToken) || null };
})();
