import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/** axe-core's browser build, read once (the dev dependency ships it). */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  /** CSS selectors of the offending nodes. */
  targets: string[];
}

/**
 * Runs an axe-core audit of the page as it stands (WCAG 2.x A and AA rules and axe's best
 * practices). The script is evaluated through the DevTools protocol, so the page's strict
 * Content-Security-Policy stays as it is and still applies to everything else.
 */
export async function axeAudit(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    /* eslint-disable @typescript-eslint/no-explicit-any */
    const axe = (globalThis as any).axe;
    const result = await axe.run((globalThis as any).document, { resultTypes: ['violations'] });
    return result.violations.map((v: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
}

/** The violations an accessible page may not have (SPEC 11): serious and critical ones. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  return (await axeAudit(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
