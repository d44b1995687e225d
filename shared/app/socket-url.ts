/**
 * The WebSocket address a client is given (SPEC 10): the deployment's `wss://…` URL, or
 * locally `ws://{host}/socket` with `{host}` the host (and port) the client itself used, so a
 * page opened as 127.0.0.1 connects to 127.0.0.1. A host that is not a plain host[:port] is
 * not echoed back; the client then has no socket and polls.
 */
export function socketUrlFor(template: string | undefined, host: string | undefined): string | undefined {
  if (!template) return undefined;
  if (!template.includes('{host}')) return template;
  if (!host || !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(host)) return undefined;
  return template.replace('{host}', host);
}
