import { Annotations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { refusedBeforeLookup } from '../shared/adapters/safe-fetch';
import type { Bot } from '../shared/bots/schema';
import { allowHosts } from '../shared/config';

/** One Send Attachment endpoint as `cdk synth` judges it against the deployed fetcher's rules. */
export interface EndpointFinding {
  botId: string;
  interactionId: string;
  endpoint: string;
  /**
   * `refused`: the fetcher will refuse every request to it (`reason` says why, `hostPort` is
   * what `fetchAllowHosts` would need); `runtime`: its scheme or host is a placeholder, so only
   * run time can tell.
   */
  verdict: 'refused' | 'runtime';
  reason: string;
  hostPort?: string;
}

/** Scheme and authority of a URL template (`https://host:port`), before any path, query or fragment. */
const ORIGIN_PART = /^[^/?#]*(\/\/[^/?#]*)?/;
const PLACEHOLDER = /\{[^{}]*\}/g;
const HAS_PLACEHOLDER = /\{[^{}]*\}/;

/**
 * Every Send Attachment endpoint the deployed SSRF-safe fetcher is certain to refuse, judged
 * with the fetcher's own rules (`refusedBeforeLookup` in shared/adapters/safe-fetch.ts) and the
 * deployment's `fetchAllowHosts`: not http(s), credentials in the URL, a literal IP that is not
 * public (loopback such as the demo's 127.0.0.1:4570, private ranges, link-local and the
 * metadata address 169.254.169.254, ...), or `localhost`. A DNS name cannot be judged at
 * synth (what it resolves to is checked on every connection at run time), so it passes here;
 * a placeholder in the scheme or host is reported as `runtime`.
 */
export function checkEndpoints(bots: readonly Bot[], fetchAllowHosts: string): EndpointFinding[] {
  const allowed = allowHosts({ FETCH_ALLOW_HOSTS: fetchAllowHosts });
  const findings: EndpointFinding[] = [];
  for (const bot of bots) {
    for (const [interactionId, interaction] of Object.entries(bot.interactions)) {
      if (interaction.type !== 'action' || interaction.action.type !== 'sendAttachment') continue;
      const { endpoint } = interaction.action;
      const where = { botId: bot.id, interactionId, endpoint };
      if (HAS_PLACEHOLDER.test(ORIGIN_PART.exec(endpoint)![0])) {
        findings.push({ ...where, verdict: 'runtime', reason: 'its scheme or host is filled from a placeholder, so only run time can tell' });
        continue;
      }
      // Placeholders in the path and query do not change where the request goes.
      const refusal = refusedBeforeLookup(endpoint.replace(PLACEHOLDER, 'x'), allowed);
      if (refusal) findings.push({ ...where, verdict: 'refused', reason: `${refusal.reason}: ${refusal.message}`, ...(refusal.host && { hostPort: refusal.host }) });
    }
  }
  return findings;
}

/**
 * `cdk synth` warns, naming the bot, the interaction and the reason, about every Send
 * Attachment endpoint the deployed fetcher will refuse (its action will always take `onError`),
 * and notes the ones only run time can judge. Warnings do not stop synth (it must work offline
 * with the demo bot); `cdk synth --strict` or `cdk deploy` in CI can make them fatal, and each
 * can be acknowledged by its id (`Annotations.of(stack).acknowledgeWarning(id)`).
 */
export function warnAboutEndpoints(scope: IConstruct, bots: readonly Bot[], fetchAllowHosts: string): EndpointFinding[] {
  const findings = checkEndpoints(bots, fetchAllowHosts);
  for (const f of findings) {
    const where = `Bot "${f.botId}", interaction "${f.interactionId}": Send Attachment endpoint ${f.endpoint}`;
    if (f.verdict === 'runtime') {
      Annotations.of(scope).addInfoV2(`satchel:endpoint-runtime:${f.botId}/${f.interactionId}`, `${where} cannot be checked at synth: ${f.reason}.`);
      continue;
    }
    const allow = f.hostPort && f.reason.startsWith('address_refused') ? ` or, if the function can reach it (e.g. in a VPC), allow it with -c fetchAllowHosts=${f.hostPort}` : '';
    Annotations.of(scope).addWarningV2(
      `satchel:endpoint-refused:${f.botId}/${f.interactionId}`,
      `${where} will be refused by the deployed fetcher (${f.reason}), so the action will always take its onError path. ` +
        `Point it at a public https host${allow}.`,
    );
  }
  return findings;
}
