import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * How every Satchel function is bundled, in one place: SatchelFunction hands these to
 * NodejsFunction (which runs the esbuild CLI), and the bundle benchmark (bench/bundles.ts)
 * builds its comparison floors with the very same options through the esbuild API, so the
 * two cannot drift apart.
 */

/** The newest Node.js Lambda runtime in aws-cdk-lib (cdk-nag AwsSolutions-L1 checks this). */
export const RUNTIME = Runtime.NODEJS_24_X;

/** esbuild target matching RUNTIME (`nodejs24.x` -> `node24`). */
export const ESBUILD_TARGET = `node${/^nodejs(\d+)\.x$/.exec(RUNTIME.name)![1]}`;

/** ESM bundles still contain CommonJS dependencies that call `require`; give them one. */
export const REQUIRE_SHIM = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/** The bundle NodejsFunction writes (ESM output). */
export const BUNDLE_FILE = 'index.mjs';

/**
 * The esbuild settings, in esbuild's own terms. Source maps are always written next to the
 * bundle (`index.mjs.map`, without sources); whether Node loads them at cold start is a
 * separate, deploy-time choice (the `sourceMaps` context setting).
 */
export const BUNDLE = {
  platform: 'node',
  format: 'esm',
  target: ESBUILD_TARGET,
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  // Bundle everything, the AWS SDK included: pinned versions and faster cold starts.
  external: [] as string[],
  banner: REQUIRE_SHIM,
} as const;

/** NodejsFunction `bundling` props for BUNDLE (command hooks are the caller's). */
export function nodejsBundling(): BundlingOptions {
  return {
    format: BUNDLE.format === 'esm' ? OutputFormat.ESM : OutputFormat.CJS,
    target: BUNDLE.target,
    mainFields: [...BUNDLE.mainFields],
    minify: BUNDLE.minify,
    sourceMap: BUNDLE.sourcemap,
    sourcesContent: BUNDLE.sourcesContent,
    externalModules: [...BUNDLE.external],
    banner: BUNDLE.banner,
  };
}

/** esbuild API options for BUNDLE (entry points and output are the caller's). */
export function esbuildOptions(): BuildOptions {
  return {
    bundle: true,
    platform: BUNDLE.platform,
    format: BUNDLE.format,
    target: BUNDLE.target,
    mainFields: [...BUNDLE.mainFields],
    minify: BUNDLE.minify,
    sourcemap: BUNDLE.sourcemap,
    sourcesContent: BUNDLE.sourcesContent,
    external: [...BUNDLE.external],
    banner: { js: BUNDLE.banner },
  };
}

/** The copy script bundling hooks run with Node (no `cp`/`mkdir -p`, which cmd.exe lacks). */
export const COPY_SCRIPT = fileURLToPath(new URL('./copy-into.mjs', import.meta.url));

/**
 * A command-hook line copying `sources` (files or directories, recursively) into `destDir`,
 * creating it. Every argument is double-quoted, which both POSIX shells and cmd.exe accept;
 * forward slashes work in paths on Windows too.
 */
export function copyIntoCommand(destDir: string, sources: readonly string[]): string {
  const quote = (arg: string) => {
    if (arg.includes('"')) throw new Error(`Cannot bundle a path containing a double quote: ${arg}`);
    return `"${arg}"`;
  };
  return ['node', COPY_SCRIPT, destDir, ...sources].map(quote).join(' ');
}
