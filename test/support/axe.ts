import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Frame, Page } from 'playwright-core';

/**
 * Accessibility audits with axe-core in real Chromium (SPEC 11: no serious or critical
 * violations). axe is evaluated into the frame through the DevTools protocol, which the
 * page's Content-Security-Policy does not govern, so the pages are audited under their real
 * policy. Each frame is audited on its own (`iframes: false`): a cross-origin iframe, such as
 * the widget's chat, is audited by passing its Frame.
 */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  nodes: { target: string; summary: string }[];
}

/** Runs axe on the frame's whole document and returns every violation. */
export async function axeAudit(target: Page | Frame): Promise<AxeViolation[]> {
  await target.evaluate(AXE_SOURCE);
  return target.evaluate(async () => {
    // The page's own globals; this project's TypeScript has no DOM types.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const w = globalThis as any;
    const result = await w.axe.run(w.document, { iframes: false, resultTypes: ['violations'] });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      nodes: v.nodes.map((n: any) => ({ target: JSON.stringify(n.target), summary: String(n.failureSummary ?? '') })),
    }));
  });
}

/** The violations an audit must not have: serious and critical ones. */
export const seriousViolations = (violations: AxeViolation[]) => violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');

/** One line per violation and node, for a failing assertion's message. */
export const describeViolations = (violations: AxeViolation[]) =>
  violations.flatMap((v) => v.nodes.map((n) => `${v.impact} ${v.id} (${v.help}) at ${n.target}: ${n.summary}`)).join('\n');
