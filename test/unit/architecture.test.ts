import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The architecture of issue 10, held against the code: AWS only in adapters, a types-only
 * ports module, no use case importing an adapter or the HTTP edge, no import cycle in the
 * core, and no catch-all container.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const text = (file: string) => readFileSync(join(ROOT, file), 'utf8');
/** Module specifiers a file imports (static and dynamic). */
const importsOf = (file: string): string[] =>
  [...text(file).matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'([^']+)'/g)].map((m) => m[1]!);
/** Relative imports resolved to repository paths. */
const localImportsOf = (file: string): string[] =>
  importsOf(file)
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)) + '.ts');

const core = [...sources('shared'), ...sources('functions')].filter((f) => !f.startsWith('shared/adapters/'));
// The channel adapters may talk to AWS too; today none does.
const outsideAdapters = core.filter((f) => !/^shared\/channels\/[^/]+\/.*-store\.ts$/.test(f));

describe('architecture', () => {
  it('keeps AWS in the adapters: no SDK import, condition expression or condition exception elsewhere', () => {
    const offenders = outsideAdapters.filter((f) => {
      const t = text(f);
      return importsOf(f).some((s) => s.startsWith('@aws-sdk/')) || /ConditionalCheckFailed|ConditionExpression|attribute_(not_)?exists\(/.test(t);
    });
    expect(offenders).toEqual([]);
  });

  it('has no catch-all container', () => {
    expect(existsSync(join(ROOT, 'shared/app/deps.ts'))).toBe(false);
    expect(sources('shared').filter((f) => /export (async )?function buildDeps\b/.test(text(f)))).toEqual([]);
  });

  it('keeps the ports module types-only', () => {
    const ports = text('shared/app/ports.ts');
    expect(ports.match(/^import (?!type )/gm)).toBeNull();
    expect(ports.match(/^export (const|let|function|async function|class|enum) /gm)).toBeNull();
  });

  it('lets no use case import an adapter, the HTTP edge or a function', () => {
    const offenders = sources('shared/app').flatMap((f) =>
      localImportsOf(f)
        .filter((target) => /^shared\/(adapters|http)\/|^functions\//.test(target))
        .map((target) => `${f} -> ${target}`),
    );
    expect(offenders).toEqual([]);
  });

  it('keeps the domain free of AWS, adapters, use cases and the edge', () => {
    const offenders = sources('shared/domain').flatMap((f) => [
      ...importsOf(f).filter((s) => s.startsWith('@aws-sdk/') || s.startsWith('@aws-lambda-powertools/')),
      ...localImportsOf(f).filter((t) => /^shared\/(adapters|app|http|channels)\//.test(t)),
    ]);
    expect(offenders).toEqual([]);
  });

  it('keeps channel protocol code free of use cases, adapters, the HTTP edge and functions', () => {
    const offenders = sources('shared/channels').flatMap((f) =>
      localImportsOf(f)
        .filter((target) => /^shared\/(app|adapters|http)\/|^functions\//.test(target))
        .map((target) => `${f} -> ${target}`),
    );
    expect(offenders).toEqual([]);
  });

  it('makes a channel one folder with one adapter and one registry line, which everything else reads', () => {
    const folders = readdirSync(join(ROOT, 'shared/channels'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    const registry = text('shared/channels/registry.ts');
    for (const name of folders) {
      expect(existsSync(join(ROOT, 'shared/channels', name, 'adapter.ts')), name).toBe(true);
      expect(registry.match(new RegExp(`from '\\./${name}/adapter'`, 'g')), name).toHaveLength(1);
    }
    // No channel is named outside its folder by the code that runs channels generically.
    const generic = ['shared/app/channel-intake.ts', 'shared/app/channel-media.ts', 'shared/app/channel-delivery.ts', 'functions/intake/handler.ts', 'shared/http/routes.ts', 'cdk/bots.ts'];
    for (const file of generic) {
      const named = folders.filter((name) => name !== 'messenger' && new RegExp(`\\b${name}\\b`, 'i').test(text(file)));
      expect(named, file).toEqual([]);
    }
  });

  it('has no import cycle in the core', () => {
    const files = new Set(core);
    const graph = new Map(core.map((f) => [f, localImportsOf(f).filter((t) => files.has(t))]));
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'visiting');
      for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of core) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('gives every function one composition root and a thin entry', () => {
    for (const name of ['intake', 'actions', 'proxy', 'agent', 'mailer', 'expiry']) {
      expect(existsSync(join(ROOT, 'functions', name, 'wiring.ts')), name).toBe(true);
      const entry = text(`functions/${name}/index.ts`);
      expect(localImportsOf(`functions/${name}/index.ts`).sort(), name).toEqual([`functions/${name}/handler.ts`, `functions/${name}/wiring.ts`]);
      expect(entry).toMatch(/export const handler = /);
      // Handlers take their ports; they never build adapters themselves.
      expect(localImportsOf(`functions/${name}/handler.ts`).filter((t) => t.startsWith('shared/adapters/') && !t.endsWith('table-layout.ts')), name).toEqual([]);
    }
  });
});
