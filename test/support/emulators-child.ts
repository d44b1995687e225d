/**
 * Runs the test emulators (dynalite, s3rver) in their own process, for measurements that
 * must not count the emulators' memory: prints their URLs as one JSON line, and stops
 * when its stdin closes.
 */
import { startTestEmulators } from './emulators';

const emu = await startTestEmulators();
process.stdout.write(`${JSON.stringify({ dynamo: emu.dynamo.url, s3: emu.s3.url, dir: emu.dir })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void emu.close().finally(() => process.exit(0));
});
