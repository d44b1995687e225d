import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The widget demo of `npm start` (SPEC 11): a small company page on a second origin
 * (`DEMO_SITE_PORT`, default 3001) that embeds a bot's chat with the snippet the README
 * shows, as a team's own website would. It sends a strict Content-Security-Policy of its own
 * — only the API may run scripts, be fetched or be framed — to show the widget needs no
 * more than that. Loopback only.
 *
 *   GET /          the page
 *   anything else  404
 */

export const DEMO_SITE_DEFAULT_PORT = 3001;

export interface DemoSite {
  /** `http://localhost:<port>/` */
  url: string;
  /** `http://localhost:<port>`, the origin a bot must allow (`channels.web.allowedOrigins`). */
  origin: string;
  port: number;
  close(): Promise<void>;
}

/** What the page embeds: the API the widget is loaded from, and the bot. Read on every request. */
export type DemoSiteTarget = () => { appUrl: string; botId: string };

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `
  body { margin: 0; font-family: Georgia, "Times New Roman", serif; background: #fbf7f0; color: #2b2118; line-height: 1.55; }
  header { background: #2b2118; color: #fbf7f0; padding: 1.25rem 1.5rem; }
  header p { margin: 0.25rem 0 0; color: #e9dcc6; }
  main { max-width: 46rem; margin: 0 auto; padding: 1.5rem; }
  h1 { margin: 0; font-size: 1.6rem; }
  code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.85rem; }
  pre { background: #fff; border: 1px solid #d8ccb8; border-radius: 6px; padding: 0.75rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
  a { color: #6b3d12; }
`;

/** The page: some content of the "site", and the widget snippet in it. */
export function demoSitePage(appUrl: string, botId: string): string {
  const snippet = `<script src="${appUrl}/widget.js" data-bot="${botId}" async></script>`;
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Acme Insurance — claims help</title>
  <link rel="icon" href="data:,">
  <style>${STYLE}</style>
</head>
<body>
  <header><h1>Acme Insurance</h1><p>A demo website on a second origin, embedding a Satchel chat.</p></header>
  <main>
    <h2>Need help with a claim?</h2>
    <p>Use the chat button at the bottom right of this page: it opens the <strong>${escapeHtml(botId)}</strong> bot's chat in a panel.
    The conversation stays with this site until its session expires, even when you reload the page.</p>
    <p>This page is served from its own origin, and the bot lists that origin in <code>channels.web.allowedOrigins</code>.
    All it takes on a site is this one line:</p>
    <pre>${escapeHtml(snippet)}</pre>
    <p><a href="${escapeHtml(appUrl)}/">The same chat as a full page</a></p>
  </main>
  ${snippet}
</body>
</html>
`;
}

/** The page's own policy: scripts, requests and frames from the API only, its one style block by hash. */
export function demoSitePolicy(appUrl: string): string {
  const api = new URL(appUrl).origin;
  const style = `'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`;
  return [
    "default-src 'none'",
    `script-src ${api}`,
    `connect-src ${api}`,
    `frame-src ${api}`,
    `style-src ${style}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export async function startDemoSite(port: number, target: DemoSiteTarget): Promise<DemoSite> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/') {
      const { appUrl, botId } = target();
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
        'content-security-policy': demoSitePolicy(appUrl),
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : demoSitePage(appUrl, botId));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found.\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const origin = `http://localhost:${bound}`;
  return {
    url: `${origin}/`,
    origin,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
