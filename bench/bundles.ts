/**
 * Bundle size and module load time of every function against its floor (bench/floors.ts).
 *
 * 1. Synthesizes the stack in-process with real bundling (cdk.json's context, no cdk-nag),
 *    and finds each function's bundle through the template: construct id (Intake, ...) ->
 *    the Lambda resource's logical id -> its code asset -> `asset.<hash>/index.mjs` in the
 *    cloud assembly. Where the entry module lives does not matter.
 * 2. Builds each floor with the functions' esbuild options (cdk/bundling.ts).
 * 3. Times the module load: fresh `node` processes, each timing only the dynamic `import()`
 *    of one bundle, with the function's environment from the template (intrinsics replaced
 *    by plausible values) and its bundled bot files; bundle and floor runs alternate and the
 *    median is reported. A third variant loads the bundle with `--enable-source-maps`, what
 *    `-c sourceMaps=true` deploys.
 * 4. Explains the difference with esbuild metafiles: the function's entry is rebuilt with the
 *    same options (and must come out byte-identical to the CDK asset), and its bytes per
 *    package are compared with the floor's.
 *
 * `BENCH_LOAD_RUNS` (default 9) sets the timed runs per variant; `BENCH_SOURCE_MAPS=0` skips
 * the source-map variant; `BENCH_KEEP=1` keeps the cloud assembly and floors for inspection.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { build, type Metafile } from 'esbuild';
import { BUNDLE_FILE, esbuildOptions, RUNTIME } from '../cdk/bundling';
import { SatchelFunction } from '../cdk/constructs/satchel-function';
import { SatchelStack } from '../cdk/satchel-stack';
import { FLOORS, floorSource } from './floors';
import { printTable } from './table';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Issue 10: a bundle may be at most this much bigger, and load this much slower, than its floor. */
export const MAX_RATIO = 1.3;

interface Target {
  /** `intake`, ...: the construct id, lower-cased. */
  name: string;
  entry: string;
  assetDir: string;
  bundle: string;
  floor: string;
  env: Record<string, string>;
}

interface Measured extends Target {
  bundleBytes: number;
  floorBytes: number;
  load: number;
  floorLoad: number;
  loadWithMaps?: number;
  excess: [string, number][];
  rebuildIdentical: boolean;
}

export async function benchBundles(): Promise<void> {
  process.chdir(REPO_ROOT); // NodejsFunction finds the project (lock file, esbuild) from here
  const runs = Number(process.env.BENCH_LOAD_RUNS ?? 9);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('BENCH_LOAD_RUNS must be a positive integer');
  const withMaps = process.env.BENCH_SOURCE_MAPS !== '0';
  const workDir = mkdtempSync(join(tmpdir(), 'satchel-bench-'));
  const started = performance.now();
  try {
    const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
    progress('synthesizing the stack with bundling…');
    const targets = synthesize(join(workDir, 'cdk.out'), join(workDir, 'floors'));
    progress(`${targets.length} bundles in ${elapsed()}; building floors and metafiles…`);

    // Rebuilds first, right after synthesis, so an edit to the sources during the timing
    // runs cannot make them differ from the CDK assets.
    const built = [];
    for (const t of targets) {
      const floorMeta = await buildFloor(t);
      const rebuilt = await rebuild(t);
      built.push({ t, excess: excessOverFloor(rebuilt.metafile, floorMeta), rebuildIdentical: rebuilt.code.equals(readFileSync(t.bundle)) });
    }
    const measured: Measured[] = [];
    for (const { t, excess, rebuildIdentical } of built) {
      progress(`timing ${t.name} (${runs} runs per variant)…`);
      measured.push({
        ...t,
        bundleBytes: statSync(t.bundle).size,
        floorBytes: statSync(t.floor).size,
        ...timeLoads(t, runs, withMaps),
        excess,
        rebuildIdentical,
      });
    }
    progress(`done in ${elapsed()}`);
    report(measured, runs, withMaps);
    if (process.env.BENCH_KEEP === '1') console.log(`\nKept the cloud assembly and floors in ${workDir}`);
  } finally {
    if (process.env.BENCH_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
  }
}

const progress = (message: string) => process.stderr.write(`[bundles] ${message}\n`);

/**
 * Synthesizes the app like `cdk deploy -c senderEmail=...` (cdk.json context plus a sender, so
 * the mailer exists: without one email is disabled) and locates each function's bundle.
 */
function synthesize(outdir: string, floorsDir: string): Target[] {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const app = new App({ outdir, context: { senderEmail: 'attachments@acme-claims.com', ...cdkJson.context } });
  const stack = new SatchelStack(app, 'Satchel');
  const template = app.synth().getStackByName(stack.stackName).template as {
    Resources: Record<string, { Type: string; Properties: Record<string, any>; Metadata?: Record<string, unknown> }>;
  };

  // By the names the stack gives them (`socket-authorizer`), which the floors use too.
  const functions = Object.entries(stack.functions) as [string, SatchelFunction][];
  const missing = functions.map(([name]) => name).filter((name) => !FLOORS[name]);
  if (missing.length > 0) throw new Error(`no floor for ${missing.join(', ')}: add it to bench/floors.ts`);

  return functions.map(([name, f]) => {
    const resource = template.Resources[stack.getLogicalId(f.fn.node.defaultChild as CfnElement)];
    if (resource?.Type !== 'AWS::Lambda::Function') throw new Error(`no Lambda function for ${f.node.id} in the template`);
    const assetDir = assetDirOf(outdir, resource);
    return {
      name,
      entry: f.entry,
      assetDir,
      bundle: join(assetDir, BUNDLE_FILE),
      floor: join(floorsDir, name, BUNDLE_FILE),
      env: lambdaEnv(f.node.id, resource.Properties, assetDir),
    };
  });
}

/** The asset directory of a function's code: `aws:asset:path` metadata if present, else `asset.<hash>` from the S3 key. */
function assetDirOf(outdir: string, resource: { Properties: Record<string, any>; Metadata?: Record<string, unknown> }): string {
  const path = resource.Metadata?.['aws:asset:path'];
  if (typeof path === 'string') return join(outdir, path);
  const key = resource.Properties.Code?.S3Key;
  const hash = typeof key === 'string' ? /^([0-9a-f]{64})\.zip$/.exec(key)?.[1] : undefined;
  if (!hash) throw new Error(`cannot find the code asset of a function: ${JSON.stringify(resource.Properties.Code)}`);
  return join(outdir, `asset.${hash}`);
}

/** Stand-ins for the deploy-time values (CloudFormation references) in the functions' environment. */
const DEPLOY_TIME_VALUES: Record<string, string> = {
  TABLE_NAME: 'Satchel-StorageTable0123456789-ABCDEFGHIJKL',
  BUCKET_NAME: 'satchel-storagebucket0123456789-abcdefghijkl',
  EVENTS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/Satchel-EventsQueue0123456789-ABCDEFGHIJKL.fifo',
  MAIL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/Satchel-MailQueue0123456789-ABCDEFGHIJKL',
  SIGNING_KEY_SECRET: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:SigningKey0123456789-AbCdEf',
  PUBLIC_BASE_URL: 'https://abcdef1234.execute-api.us-east-1.amazonaws.com',
  COGNITO_CLIENT_ID: '1example23456789abcdefghij',
  SOCKET_ENDPOINT: 'https://abcdef5678.execute-api.us-east-1.amazonaws.com/live',
  SOCKET_URL: 'wss://abcdef5678.execute-api.us-east-1.amazonaws.com/live',
  AGENT_JWT_ISSUER: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example12',
};

/** What Lambda would give the function: its template environment plus the runtime's variables. */
function lambdaEnv(id: string, props: Record<string, any>, assetDir: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EXECUTION_ENV: `AWS_Lambda_${RUNTIME.name}`,
    AWS_LAMBDA_FUNCTION_NAME: `Satchel-${id}Resource0123456789-ABCDEFGHIJKL`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(props.MemorySize ?? 128),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/Satchel-${id}`,
    LAMBDA_TASK_ROOT: assetDir,
    AWS_ACCESS_KEY_ID: 'ASIABENCHBENCHBENCH0',
    AWS_SECRET_ACCESS_KEY: 'bench-secret-access-key',
    AWS_SESSION_TOKEN: 'bench-session-token',
    // The SDK warns about Node versions older than the Lambda runtime's; that is not the function's cost.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  for (const [key, value] of Object.entries((props.Environment?.Variables ?? {}) as Record<string, unknown>)) {
    // Node flags are a per-variant choice of the bench (source maps on or off), not the template's.
    if (key === 'NODE_OPTIONS') continue;
    if (key === 'BOTS_DIR') env[key] = join(assetDir, 'bots');
    else env[key] = typeof value === 'string' ? value : (DEPLOY_TIME_VALUES[key] ?? `bench-${key.toLowerCase()}`);
  }
  return env;
}

async function buildFloor(t: Target): Promise<Metafile> {
  mkdirSync(dirname(t.floor), { recursive: true });
  const result = await build({
    ...esbuildOptions(),
    stdin: { contents: floorSource(t.name), resolveDir: REPO_ROOT, sourcefile: `floor-${t.name}.mjs`, loader: 'js' },
    absWorkingDir: REPO_ROOT,
    outfile: t.floor,
    metafile: true,
    logLevel: 'error',
  });
  return result.metafile;
}

/** The function's entry built again with the same options, in memory, for its metafile. */
async function rebuild(t: Target): Promise<{ code: Buffer; metafile: Metafile }> {
  const result = await build({
    ...esbuildOptions(),
    entryPoints: [t.entry],
    absWorkingDir: REPO_ROOT,
    outfile: join(dirname(t.floor), 'rebuilt', BUNDLE_FILE),
    metafile: true,
    write: false,
    logLevel: 'error',
  });
  const out = result.outputFiles.find((f) => f.path.endsWith(BUNDLE_FILE))!;
  return { code: Buffer.from(out.contents), metafile: result.metafile };
}

/** Output bytes per package: `zod`, `zod/locales`, `@aws-sdk/client-s3`, `shared/app`, `functions`, `floor`. */
function bytesByPackage(metafile: Metafile): Map<string, number> {
  const output = Object.entries(metafile.outputs).find(([path]) => path.endsWith(BUNDLE_FILE))![1];
  const sizes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    sizes.set(packageOf(input), (sizes.get(packageOf(input)) ?? 0) + bytesInOutput);
  }
  return sizes;
}

function packageOf(input: string): string {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) {
    if (input.startsWith('<stdin>') || input.startsWith('floor-')) return 'floor';
    const parts = input.split('/');
    return parts.length > 2 ? parts.slice(0, 2).join('/') : parts[0]!;
  }
  const rest = input.slice(at + 'node_modules/'.length).split('/');
  const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  return pkg === 'zod' && rest.includes('locales') ? 'zod/locales' : pkg;
}

/** Packages by how many more bytes the bundle has of them than the floor, largest first. */
function excessOverFloor(bundle: Metafile, floor: Metafile): [string, number][] {
  const ours = bytesByPackage(bundle);
  const base = bytesByPackage(floor);
  return [...ours]
    .map(([pkg, bytes]): [string, number] => [pkg, bytes - (base.get(pkg) ?? 0)])
    .filter(([, bytes]) => bytes > 0)
    .sort((a, b) => b[1] - a[1]);
}

/** Runs in a fresh `node`: times the dynamic import alone and checks the module has a handler. */
const IMPORT_PROBE = `
const started = performance.now();
const mod = await import(process.env.BENCH_IMPORT_URL);
const ms = performance.now() - started;
if (typeof mod.handler !== 'function') { console.error('the module exports no handler function'); process.exit(2); }
process.stdout.write(JSON.stringify({ ms }));
process.exit(0);
`;

function timeImport(file: string, env: Record<string, string>, nodeFlags: string[]): number {
  const child = spawnSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', IMPORT_PROBE], {
    cwd: dirname(file),
    env: { ...env, BENCH_IMPORT_URL: pathToFileURL(file).href },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (child.status !== 0) {
    throw new Error(`importing ${file} failed (exit ${child.status ?? child.signal}):\n${(child.stderr || child.stdout).slice(0, 2000)}`);
  }
  return (JSON.parse(child.stdout) as { ms: number }).ms;
}

function timeLoads(t: Target, runs: number, withMaps: boolean) {
  const variants = [
    { key: 'load', file: t.bundle, flags: [] as string[] },
    { key: 'floorLoad', file: t.floor, flags: [] as string[] },
    ...(withMaps ? [{ key: 'loadWithMaps', file: t.bundle, flags: ['--enable-source-maps'] }] : []),
  ];
  // One untimed run each first (file cache), then rounds in rotating order so no variant
  // always runs first.
  for (const v of variants) timeImport(v.file, t.env, v.flags);
  const samples = new Map<string, number[]>(variants.map((v) => [v.key, []]));
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(round + i) % variants.length]!;
      samples.get(v.key)!.push(timeImport(v.file, t.env, v.flags));
    }
  }
  return {
    load: median(samples.get('load')!),
    floorLoad: median(samples.get('floorLoad')!),
    loadWithMaps: withMaps ? median(samples.get('loadWithMaps')!) : undefined,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const ms = (value: number) => `${value.toFixed(0)} ms`;
const ratio = (value: number) => `${value.toFixed(2)}x${value > MAX_RATIO ? ' !' : ''}`;

function report(measured: Measured[], runs: number, withMaps: boolean): void {
  const header = ['function', 'bundle', 'floor', 'size ratio', 'load', 'floor load', 'load ratio'];
  if (withMaps) header.push('load, source maps on');
  const rows = [header];
  for (const m of measured) {
    const row = [
      m.name,
      kb(m.bundleBytes),
      kb(m.floorBytes),
      ratio(m.bundleBytes / m.floorBytes),
      ms(m.load),
      ms(m.floorLoad),
      ratio(m.load / m.floorLoad),
    ];
    if (m.loadWithMaps !== undefined) {
      const delta = m.loadWithMaps - m.load;
      row.push(`${ms(m.loadWithMaps)} (${delta < 0 ? '-' : '+'}${ms(Math.abs(delta))})`);
    }
    rows.push(row);
  }

  console.log(`\nBundles: minified ${BUNDLE_FILE} per function vs its floor (Node ${process.version}, ${process.arch})\n`);
  printTable(rows, [1, 2, 3, 4, 5, 6, 7]);
  console.log(
    `\nLoad = median of ${runs} fresh node processes timing only import() of the bundle. ` +
      `"!" marks a ratio over ${MAX_RATIO}x (issue 10). Floors: bench/floors.ts.`,
  );

  console.log('\nLargest excess over the floor, by package (esbuild metafile, bytes in the minified output):\n');
  const excessRows = [['function', 'excess', 'top packages']];
  for (const m of measured) {
    const total = m.excess.reduce((sum, [, bytes]) => sum + bytes, 0);
    const top = m.excess
      .slice(0, 6)
      .map(([pkg, bytes]) => `${pkg} ${kb(bytes)}`)
      .join(', ');
    excessRows.push([m.name, `+${kb(total)}`, top]);
  }
  printTable(excessRows, [1]);

  const drifted = measured.filter((m) => !m.rebuildIdentical).map((m) => m.name);
  console.log(
    drifted.length === 0
      ? `\nesbuild options check: all ${measured.length} bundles rebuilt from cdk/bundling.ts are byte-identical to the CDK assets.`
      : `\nesbuild options check: the rebuild of ${drifted.join(', ')} differs from the CDK asset (options drifted, or ` +
          'the sources changed during synthesis); the package figures may not match that bundle.',
  );
}
