// Copies files or directories into a directory, creating it: `node copy-into.mjs <dest> <source>...`.
// Used by the functions' bundling hooks instead of `mkdir -p` and `cp`, so `cdk synth` and
// `cdk deploy` bundle on Windows as well as on Linux and macOS.
import { cpSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';

const [dest, ...sources] = process.argv.slice(2);
if (!dest || sources.length === 0) {
  console.error('usage: node copy-into.mjs <dest-dir> <source>...');
  process.exit(2);
}
mkdirSync(dest, { recursive: true });
for (const source of sources) cpSync(source, join(dest, basename(source)), { recursive: true });
