/**
 * The sites that may embed a bot's chat (`channels.web.allowedOrigins`, SPEC 11). Each entry
 * becomes a source of the chat page's `Content-Security-Policy: frame-ancestors`, so it is
 * checked strictly at bot load: a typo must stop start-up, never widen or silently break
 * the policy, and nothing in it may add a directive (`;`) or a keyword (`'self'`, `*`).
 *
 * Accepted: `scheme://host[:port]` exactly as a browser writes the origin (http or https,
 * lower case, no path, no default port), and `https://*.example.com` (http too) for every
 * subdomain of example.com at any depth — not example.com itself, as CSP matches it.
 */
const SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;
const HOST_PORT = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const WILDCARD = '*.';
/** Stands in for `*` while the URL parser normalises the rest. */
const PLACEHOLDER = 'wildcard-label.';

const EXAMPLE = 'write origins as scheme://host[:port], for example "https://www.example.com"';

/** What is wrong with one allowed origin, in words for the bot's author; undefined when it is fine. */
export function originProblem(value: string): string | undefined {
  if (/[\s,;'"]/.test(value)) return 'one origin per entry, with no spaces, commas, semicolons or quotes';
  const m = SHAPE.exec(value);
  if (!m) return EXAMPLE;
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  if (rest) return `an origin has no path, query or fragment: write "${scheme}://${authority}"`;
  if (!/^https?$/i.test(scheme)) return 'only http and https sites can embed the chat';
  if (authority.includes('@')) return 'an origin has no user name or password';
  const wildcard = authority.startsWith(WILDCARD);
  const hostPort = wildcard ? authority.slice(WILDCARD.length) : authority;
  if (hostPort.includes('*')) return 'a wildcard is only allowed as the whole first label, as in "https://*.example.com"';
  if (!HOST_PORT.test(hostPort)) return 'host names are letters, digits, dots and hyphens (write international names in punycode, xn--...)';
  if (wildcard && (hostPort.startsWith('[') || !/[A-Za-z0-9-]\.[A-Za-z0-9-]/.test(hostPort.replace(/:[0-9]+$/, '')))) {
    return 'a wildcard needs a domain of at least two labels under it, as in "https://*.example.com"';
  }
  let origin: string;
  try {
    origin = new URL(`${scheme}://${wildcard ? PLACEHOLDER : ''}${hostPort}`).origin;
  } catch {
    return EXAMPLE;
  }
  if (wildcard) origin = origin.replace(`//${PLACEHOLDER}`, `//${WILDCARD}`);
  if (origin !== value) return `write it as the browser does: "${origin}"`;
  return undefined;
}

/** Every web bot's chat page may be framed by these sources; absent = the API's own origin only. */
export type FrameAncestors = readonly string[];

/**
 * The `frame-ancestors` sources for a bot's chat page: its allowed origins, `'self'` when it
 * lists none, `'none'` for an empty list or for no bot at all (an unknown id, a bot without
 * the web channel), so the page can never be framed by a site nobody allowed.
 */
export function frameAncestors(bot: { channels: { web?: { allowedOrigins?: readonly string[] } } } | undefined): FrameAncestors {
  const web = bot?.channels.web;
  if (!web) return ["'none'"];
  if (!web.allowedOrigins) return ["'self'"];
  return web.allowedOrigins.length ? [...new Set(web.allowedOrigins)] : ["'none'"];
}
