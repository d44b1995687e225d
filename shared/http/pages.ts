import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BotCatalog } from '../app/ports';
import { frameAncestors, type FrameAncestors } from '../bots/origins';
import type { Bot } from '../bots/schema';
import type { HttpResult } from './http-handler';

/**
 * The two pages the product serves (SPEC section 7): `/` the web chat, `/agent` the Live
 * Takeover console; and `/widget.js`, the script that embeds the chat in other sites
 * (SPEC 11). Plain HTML, CSS and browser JavaScript under `web/`, assembled into one
 * self-contained document per page: `<link rel="stylesheet" href="x.css">` and
 * `<script src="x.js"></script>` are inlined, and the Content-Security-Policy allows
 * exactly those inline blocks by hash, so no other script can run in the page.
 *
 * Where `web/` is: `WEB_DIR` if set; in Lambda, `web/` next to the bundle (the CDK copies
 * it there); otherwise the repository's `web/`.
 */
export type PageName = 'chat' | 'agent';

/** How the pages are set up in this deployment. */
export interface PageSettings {
  /** `cognito` (the user pool app client), `local` (POST /local/agent-token); unset: a pasted token only. */
  agentSignIn?: 'cognito' | 'local';
  cognitoClientId?: string;
  /** The Cognito API's address when it is not the region's (the local stand-in's same-origin path). */
  cognitoEndpoint?: string;
  region: string;
  /** The local S3 server's URL; unset on AWS. */
  s3Endpoint?: string;
  /** The WebSocket address clients are given (SPEC 10); its origin is allowed in connect-src. */
  socketUrl?: string;
}

export interface PageDeps {
  bots: BotCatalog;
  pages: PageSettings;
}

const FILES: Record<PageName, string> = { chat: 'chat.html', agent: 'agent.html' };

export function webDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WEB_DIR) return env.WEB_DIR;
  if (env.LAMBDA_TASK_ROOT) return join(env.LAMBDA_TASK_ROOT, 'web');
  return fileURLToPath(new URL('../../web/', import.meta.url));
}

interface AssembledPage {
  html: string;
  scriptHashes: string[];
  styleHashes: string[];
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Inlines the page's own CSS and JS; only plain file names under `dir` are read. */
export function assemblePage(dir: string, file: string, pageConfig: unknown): AssembledPage {
  const read = (name: string) => {
    if (!/^[a-z0-9-]+\.(css|js|html)$/.test(name)) throw new Error(`web asset name not allowed: ${name}`);
    return readFileSync(join(dir, name), 'utf8');
  };
  const scriptHashes: string[] = [];
  const styleHashes: string[] = [];
  // `</` cannot appear in the JSON, so it cannot close the data block early.
  const configJson = JSON.stringify(pageConfig).replace(/</g, '\\u003c');
  const html = read(file)
    .replace(/<link rel="stylesheet" href="([^"]+)">/g, (_m, name: string) => {
      const css = read(name);
      styleHashes.push(sha256(css));
      return `<style>${css}</style>`;
    })
    .replace(/<script src="([^"]+)"><\/script>/g, (_m, name: string) => {
      const js = read(name);
      scriptHashes.push(sha256(js));
      return `<script>${js}</script>`;
    })
    .replace('<!--page-config-->', () => `<script type="application/json" id="page-config">${configJson}</script>`);
  return { html, scriptHashes, styleHashes };
}

/** Origins the pages talk to besides their own: S3 (uploads, downloads) and Cognito sign-in. */
function externalOrigins(settings: Pick<PageSettings, 's3Endpoint'>): string[] {
  const origins = ['https://*.amazonaws.com'];
  if (settings.s3Endpoint) origins.push(new URL(settings.s3Endpoint).origin);
  return origins;
}

/** `wss://id.execute-api.region.amazonaws.com` for `wss://…/prod`; nothing for anything but ws(s). */
function socketOrigin(socketUrl: string | undefined): string[] {
  if (!socketUrl) return [];
  try {
    const url = new URL(socketUrl);
    return url.protocol === 'ws:' || url.protocol === 'wss:' ? [`${url.protocol}//${url.host}`] : [];
  } catch {
    return [];
  }
}

export function contentSecurityPolicy(
  page: AssembledPage,
  settings: Pick<PageSettings, 's3Endpoint' | 'socketUrl'>,
  ancestors: FrameAncestors = ["'none'"],
): string {
  const external = externalOrigins(settings).join(' ');
  const connect = [external, ...socketOrigin(settings.socketUrl)].join(' ');
  return [
    "default-src 'none'",
    `script-src ${page.scriptHashes.join(' ')}`,
    `style-src ${page.styleHashes.join(' ')}`,
    `img-src 'self' data: blob: ${external}`,
    `connect-src 'self' ${connect}`,
    "form-action 'none'",
    `frame-ancestors ${ancestors.join(' ')}`,
    "base-uri 'none'",
  ].join('; ');
}

/**
 * `X-Frame-Options` for older browsers, never contradicting `frame-ancestors` (which wins
 * where both are understood): DENY or SAMEORIGIN when the policy is exactly that, and no
 * header when named sites may frame the page, as X-Frame-Options cannot name them.
 */
export function frameOptions(ancestors: FrameAncestors): Record<string, string> {
  if (ancestors.length === 1 && ancestors[0] === "'none'") return { 'x-frame-options': 'DENY' };
  if (ancestors.length === 1 && ancestors[0] === "'self'") return { 'x-frame-options': 'SAMEORIGIN' };
  return {};
}

/** The web bots the chat page offers, by name. */
const webBots = (deps: PageDeps) => deps.bots.all().filter((b) => b.channels.web).sort((x, y) => x.name.localeCompare(y.name));

/** The bot the chat page opens without `?bot=`: the demo bot, else the first by name. */
const defaultChatBot = (bots: Bot[]) => bots.find((b) => b.id === 'demo') ?? bots[0];

/**
 * The bot a chat page request shows, as the page itself picks it (`?bot=`, else the
 * default); undefined when there is no such web bot, so nobody may frame that page.
 */
export function chatPageBot(deps: PageDeps, botParam: string | undefined): Bot | undefined {
  if (!botParam) return defaultChatBot(webBots(deps));
  const bot = deps.bots.get(botParam);
  return bot?.channels.web ? bot : undefined;
}

/** What each page needs to know before its first request. */
export function pageConfig(name: PageName, deps: PageDeps): unknown {
  if (name === 'chat') {
    const bots = webBots(deps);
    const defaultBot = defaultChatBot(bots)?.id ?? null;
    return { defaultBot, bots: bots.map((b) => ({ id: b.id, name: b.name })) };
  }
  const { agentSignIn: signIn, cognitoClientId: clientId, cognitoEndpoint: endpoint, region, socketUrl } = deps.pages;
  // The console has no bot config to read the socket address from; it comes with the page.
  const socket = socketUrl ? { socketUrl } : {};
  if (signIn === 'cognito' && clientId) return { signIn, cognito: { region, clientId, ...(endpoint && { endpoint }) }, ...socket };
  if (signIn === 'local') return { signIn, ...socket };
  return { signIn: 'token', ...socket };
}

const cache = new Map<string, AssembledPage>();

/**
 * The page as an HTTP response. In Lambda it is assembled once per container (the files
 * never change there); locally on every request, so edits to web/ show on reload.
 * `botParam` is the chat page's `?bot=`: the sites that bot allows may frame the page
 * (SPEC 11); the console is never framed.
 */
export function pageResponse(name: PageName, deps: PageDeps, botParam?: string, dir = webDir()): HttpResult {
  const config = pageConfig(name, deps);
  const key = `${dir}|${name}|${JSON.stringify(config)}`;
  let page = cache.get(key);
  if (!page) {
    page = assemblePage(dir, FILES[name], config);
    if (process.env.LAMBDA_TASK_ROOT) cache.set(key, page);
  }
  const ancestors = name === 'chat' ? frameAncestors(chatPageBot(deps, botParam)) : ["'none'"];
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'content-security-policy': contentSecurityPolicy(page, deps.pages, ancestors),
      'x-content-type-options': 'nosniff',
      // File links carry their token in the URL; never send it on as a Referer.
      'referrer-policy': 'no-referrer',
      ...frameOptions(ancestors),
    },
    body: page.html,
  };
}

let widget: { body: string; etag: string; dir: string } | undefined;

/**
 * `GET /widget.js` (SPEC 11): the launcher script other sites load with a script tag. It is
 * the same for every bot and changes only with a deployment, so browsers and CDNs may keep
 * it for an hour and then revalidate it cheaply by ETag.
 */
export function widgetScriptResponse(ifNoneMatch: string | undefined, dir = webDir()): HttpResult {
  if (!widget || widget.dir !== dir || !process.env.LAMBDA_TASK_ROOT) {
    const body = readFileSync(join(dir, 'widget.js'), 'utf8');
    widget = { body, dir, etag: `"${createHash('sha256').update(body, 'utf8').digest('base64url').slice(0, 27)}"` };
  }
  const headers = {
    'cache-control': 'public, max-age=3600',
    etag: widget.etag,
    'x-content-type-options': 'nosniff',
    // Loaded by other sites: allowed even where they require CORP (COEP), and readable with `crossorigin`.
    'cross-origin-resource-policy': 'cross-origin',
    'access-control-allow-origin': '*',
  };
  const matches = ifNoneMatch?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === widget!.etag || tag.trim() === '*');
  if (matches) return { statusCode: 304, headers };
  return { statusCode: 200, headers: { ...headers, 'content-type': 'text/javascript; charset=utf-8' }, body: widget.body };
}
