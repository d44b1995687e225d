import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { FLOORS, floorSource } from '../../bench/floors';
import { BUNDLE, BUNDLE_FILE, ESBUILD_TARGET, esbuildOptions, nodejsBundling, RUNTIME } from '../../cdk/bundling';
import { SatchelFunction } from '../../cdk/constructs/satchel-function';
import type { SatchelFunctionName } from '../../cdk/satchel-stack';
import { SYNTH_TIMEOUT, type Synthesized, synthSatchel } from './synth';

/**
 * How the functions are bundled (cdk/bundling.ts) and what ends up in each bundle. The
 * sizes and load times themselves are the benchmark's (`npm run bench:bundles`); these tests
 * pin down which packages a bundle may contain, so an adapter imported where it is not used
 * shows up as a failing test rather than a slower cold start.
 */

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Building all bundles and floors takes a few seconds on two cores. */
const BUILD_TIMEOUT = 120_000;

describe('bundling options', () => {
  it('give NodejsFunction and the esbuild API the same settings', () => {
    const cdk = nodejsBundling();
    const api = esbuildOptions();
    expect(cdk.format).toBe(api.format);
    expect(cdk.target).toBe(api.target);
    expect(cdk.mainFields).toEqual(api.mainFields);
    expect(cdk.minify).toBe(api.minify);
    expect(cdk.sourceMap).toBe(api.sourcemap);
    expect(cdk.sourcesContent).toBe(api.sourcesContent);
    expect(cdk.externalModules).toEqual(api.external);
    expect(cdk.banner).toBe((api.banner as { js: string }).js);
    expect(api).toMatchObject({ bundle: true, platform: 'node' });
  });

  it('target the Lambda runtime, minified, with a source map file without sources, bundling the AWS SDK', () => {
    expect(RUNTIME.name).toBe(`nodejs${ESBUILD_TARGET.slice('node'.length)}.x`);
    expect(BUNDLE).toMatchObject({ format: 'esm', minify: true, sourcemap: true, sourcesContent: false, external: [] });
    expect(BUNDLE_FILE).toBe('index.mjs');
  });
});

/** Packages in a metafile's output, e.g. `@aws-sdk/client-s3`, `nodemailer`. */
function packagesIn(metafile: Metafile): Map<string, string[]> {
  const output = Object.entries(metafile.outputs).find(([path]) => path.endsWith(BUNDLE_FILE))![1];
  const packages = new Map<string, string[]>();
  for (const input of Object.keys(output.inputs)) {
    const at = input.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const rest = input.slice(at + 'node_modules/'.length).split('/');
    const name = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    packages.set(name, [...(packages.get(name) ?? []), input]);
  }
  return packages;
}

const bundleBuild = (options: Parameters<typeof build>[0]) =>
  build({ ...esbuildOptions(), ...options, absWorkingDir: REPO_ROOT, outfile: `/tmp/satchel-bundle-test/${BUNDLE_FILE}`, metafile: true, write: false, logLevel: 'error' });

/** The AWS SDK clients and helpers a bundle calls: what the benchmark's floors are made of. */
const SDK_PARTS = /^@aws-sdk\/(client-.+|lib-dynamodb|lib-storage|s3-presigned-post|s3-request-presigner)$/;
const sdkParts = (packages: Map<string, string[]>) => [...packages.keys()].filter((p) => SDK_PARTS.test(p)).sort();

describe('bundle contents', () => {
  let s: Synthesized;
  const bundles = new Map<string, Map<string, string[]>>();
  const floors = new Map<string, Map<string, string[]>>();

  beforeAll(async () => {
    s = synthSatchel();
    for (const [name, fn] of Object.entries(s.stack.functions)) {
      bundles.set(name, packagesIn((await bundleBuild({ entryPoints: [fn.entry] })).metafile));
      floors.set(
        name,
        packagesIn((await bundleBuild({ stdin: { contents: floorSource(name), resolveDir: REPO_ROOT, loader: 'js' } })).metafile),
      );
    }
  }, BUILD_TIMEOUT);

  it('the benchmark has a floor for exactly the functions the stack defines', () => {
    const constructs = s.stack.node.children.filter((c) => c instanceof SatchelFunction);
    expect(Object.keys(s.stack.functions)).toHaveLength(constructs.length);
    expect(Object.keys(FLOORS).sort()).toEqual(Object.keys(s.stack.functions).sort());
  });

  it.each(['intake', 'actions', 'proxy', 'agent', 'mailer', 'expiry', 'socket', 'socket-authorizer'] satisfies SatchelFunctionName[])(
    '%s bundles exactly the AWS SDK clients and helpers its wiring calls',
    (name) => {
      const bundled = sdkParts(bundles.get(name)!);
      const floor = sdkParts(floors.get(name)!);
      // Extra: an adapter the function imports without calling. Missing: a floor that is too generous.
      expect({ extra: bundled.filter((p) => !floor.includes(p)), missing: floor.filter((p) => !bundled.includes(p)) }).toEqual({
        extra: [],
        missing: [],
      });
    },
  );

  it('only the mailer bundles nodemailer', () => {
    const withNodemailer = [...bundles].filter(([, packages]) => packages.has('nodemailer')).map(([name]) => name);
    expect(withNodemailer).toEqual(['mailer']);
  });

  it('bundles zod without its locales except English (error messages stay English)', () => {
    for (const [name, packages] of bundles) {
      const locales = (packages.get('zod') ?? []).filter((input) => input.includes('/locales/')).map((input) => input.replace(/.*\/locales\//, ''));
      expect(locales.filter((file) => file !== 'en.js').length, `${name} bundles zod locales ${locales.slice(0, 5).join(', ')}…`).toBe(0);
    }
  });
});
