import { readFileSync } from 'node:fs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScanResultEvent } from '../../functions/scan-verdict/handler';
import { clamdAddress, clamdAnswer, clamdPing, clamdScanner, scannerChooser } from '../../local/clamd';
import { builtInScanner, EICAR } from '../../local/malware-scanner';
import { scanResultEvent } from '../../local/scan-loop';
import { isOpenable, isRefusedByScan, settledState } from '../../shared/domain/scan';

const fixture = JSON.parse(readFileSync(new URL('../support/fixtures/guardduty/object-scan-result.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('malware verdicts (SPEC 13)', () => {
  it('settle a file by the scan result and the bot’s unscannable policy; a failed scan settles nothing', () => {
    expect(['refuse', 'allow'].map((p) => settledState('NO_THREATS_FOUND', p as 'refuse'))).toEqual(['clean', 'clean']);
    expect(['refuse', 'allow'].map((p) => settledState('THREATS_FOUND', p as 'refuse'))).toEqual(['infected', 'infected']);
    expect(['refuse', 'allow'].map((p) => settledState('UNSUPPORTED', p as 'refuse'))).toEqual(['unscannable', 'clean']);
    for (const failed of ['ACCESS_DENIED', 'FAILED'] as const) expect(settledState(failed, 'allow')).toBeUndefined();
  });

  it('open only files never held, clean or not scanned', () => {
    expect([undefined, 'clean', 'not_scanned', 'pending', 'infected', 'unscannable'].map((s) => isOpenable(s as never))).toEqual([true, true, true, false, false, false]);
    expect(['infected', 'unscannable', 'pending', 'clean'].map((s) => isRefusedByScan(s as never))).toEqual([true, true, false, false]);
  });

  it('read the documented GuardDuty event, and the local scanner emits the same shape', () => {
    const parsed = ScanResultEvent.safeParse(fixture);
    expect(parsed.success).toBe(true);
    expect(parsed.data!.detail.scanResultDetails.scanResultStatus).toBe('THREATS_FOUND');
    const local = scanResultEvent('bucket', { key: 'sessions/s/o', eTag: '"e"' }, { status: 'THREATS_FOUND', threats: ['EICAR-Test-File (not a virus)'] });
    const { _source: _, ...documented } = fixture;
    expect(Object.keys(local).sort()).toEqual(Object.keys(documented).sort());
    expect(Object.keys(local.detail).sort()).toEqual(Object.keys(documented.detail as object).sort());
    expect(Object.keys(local.detail.s3ObjectDetails).sort()).toEqual(Object.keys((documented.detail as { s3ObjectDetails: object }).s3ObjectDetails).sort());
    expect(ScanResultEvent.safeParse(local).success).toBe(true);
    for (const status of ['NO_THREATS_FOUND', 'UNSUPPORTED', 'FAILED'] as const) {
      expect(ScanResultEvent.safeParse(scanResultEvent('b', { key: 'k' }, { status })).success).toBe(true);
    }
    expect(scanResultEvent('b', { key: 'k' }, { status: 'UNSUPPORTED' }).detail.scanStatus).toBe('SKIPPED');
  });

  it('refuse events that are not scan results', () => {
    expect(ScanResultEvent.safeParse({ ...fixture, 'detail-type': 'GuardDuty Finding' }).success).toBe(false);
    expect(ScanResultEvent.safeParse({ ...fixture, detail: { scanResultDetails: { scanResultStatus: 'MAYBE' } } }).success).toBe(false);
  });
});

/**
 * A stand-in for clamd built from its documented protocol (clamd(8)): `z`-prefixed,
 * NUL-terminated commands; PING → PONG; INSTREAM → length-prefixed chunks ended by a zero
 * length, answered `stream: OK`, `stream: <signature> FOUND`, or `INSTREAM size limit
 * exceeded. ERROR` past StreamMaxLength. It knows one signature: the EICAR test file.
 */
function clamdStandIn(maxStream: number): Server {
  return createServer((socket) => {
    let buf = Buffer.alloc(0);
    let streaming = false;
    const stream: Buffer[] = [];
    let streamed = 0;
    let answered = false;
    const answer = (text: string) => {
      answered = true;
      socket.end(text);
    };
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      buf = Buffer.concat([buf, chunk]);
      if (!streaming) {
        const end = buf.indexOf(0);
        if (end < 0) return;
        const command = buf.subarray(0, end).toString();
        buf = buf.subarray(end + 1);
        if (command === 'zPING') return answer('PONG\0');
        if (command !== 'zINSTREAM') return answer('UNKNOWN COMMAND\0');
        streaming = true;
      }
      while (buf.length >= 4) {
        const size = buf.readUInt32BE(0);
        if (size === 0) {
          const all = Buffer.concat(stream);
          return answer(all.includes(EICAR, 0, 'latin1') ? 'stream: Win.Test.EICAR_HDB-1 FOUND\0' : 'stream: OK\0');
        }
        if (buf.length < 4 + size) return;
        streamed += size;
        if (streamed > maxStream) return answer('INSTREAM size limit exceeded. ERROR\0');
        stream.push(buf.subarray(4, 4 + size));
        buf = buf.subarray(4 + size);
      }
    });
  });
}

describe('the local scanner with a ClamAV daemon', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = clamdStandIn(200_000);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('scans with INSTREAM and maps clamd’s answers to GuardDuty’s statuses', async () => {
    const clamd = clamdScanner({ host: '127.0.0.1', port });
    await expect(clamd.scan(Buffer.from(`hello ${EICAR}`, 'latin1'))).resolves.toEqual({ status: 'THREATS_FOUND', threats: ['Win.Test.EICAR_HDB-1'] });
    // More than one 64 KiB chunk, clean.
    await expect(clamd.scan(Buffer.alloc(150_000, 0x61))).resolves.toEqual({ status: 'NO_THREATS_FOUND' });
    await expect(clamd.scan(Buffer.alloc(300_000, 0x61))).resolves.toEqual({ status: 'UNSUPPORTED' });
    await expect(clamdPing({ host: '127.0.0.1', port })).resolves.toBe(true);
  });

  it('maps encrypted-archive heuristics to unscannable and throws on other errors', () => {
    expect(clamdAnswer('stream: Heuristics.Encrypted.Zip FOUND')).toEqual({ status: 'UNSUPPORTED' });
    expect(() => clamdAnswer('Can\'t allocate memory ERROR')).toThrow(/clamd/);
  });

  it('finds clamd from CLAMD_HOST/CLAMD_PORT or clamd.conf, and uses it only while it answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clamd-'));
    const conf = join(dir, 'clamd.conf');
    writeFileSync(conf, `# comment\nTCPSocket ${port}\nTCPAddr 127.0.0.1\n`);
    expect(clamdAddress({}, conf)).toEqual({ host: '127.0.0.1', port });
    writeFileSync(conf, 'LocalSocket /run/clamav/clamd.ctl\n');
    expect(clamdAddress({}, conf)).toEqual({ path: '/run/clamav/clamd.ctl' });
    expect(clamdAddress({ CLAMD_PORT: '3311' }, conf)).toEqual({ host: '127.0.0.1', port: 3311 });
    expect(clamdAddress({}, join(dir, 'missing.conf'))).toBeUndefined();

    expect((await scannerChooser({ host: '127.0.0.1', port })()).name).toBe(`clamd at 127.0.0.1:${port}`);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect((await scannerChooser({ host: '127.0.0.1', port: deadPort })()).name).toBe(builtInScanner().name);
  });
});
