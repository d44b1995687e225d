/**
 * Runs the test emulators (dynalite, s3rver) in their own process, for measurements that
 * must not count the emulators' memory: prints their URLs as one JSON line, and stops
 * when its stdin closes.
 */
import { startTestEmulators } from './emulators';

// s3rver can throw from a stream when an object is deleted while it still reads it (a copy
// cut off by a SIGKILLed client, then its source deleted by the restarted one): a real S3 does
// not go down for that, so the servers keep going and the error is only printed.
process.on('uncaughtException', (err) => console.error('emulator error (ignored):', err.message));
const emu = await startTestEmulators({ ses: process.argv.includes('--ses') });
process.stdout.write(`${JSON.stringify({ dynamo: emu.dynamo.url, s3: emu.s3.url, ses: emu.ses.url, dir: emu.dir })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void emu.close().finally(() => process.exit(0));
});
