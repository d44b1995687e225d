/**
 * `npm run bench [-- section...]`: every section, or only those named.
 *
 * - `send-attachment`: Send Attachment throughput and memory (bench/send-attachment.ts).
 * - `bundles`: each function's bundle size and module load time against its floor, the
 *   AWS SDK clients it calls and nothing else (bench/bundles.ts). `npm run bench:bundles`.
 * - `data-path`: DynamoDB requests per step, push latency against its floor and the list-price
 *   cost per 1M text messages, on the local runtime (bench/data-path.ts).
 */
export {};

process.env.LOG_LEVEL ??= 'SILENT';

const SECTIONS = {
  'send-attachment': async () => (await import('./send-attachment')).benchSendAttachment(),
  bundles: async () => (await import('./bundles')).benchBundles(),
  'data-path': async () => (await import('./data-path')).benchDataPath(),
} as const;
type Section = keyof typeof SECTIONS;

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in SECTIONS));
if (unknown.length > 0) {
  console.error(`unknown bench section ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
for (const name of (asked.length > 0 ? asked : Object.keys(SECTIONS)) as Section[]) await SECTIONS[name]();
