import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COPY_SCRIPT, copyIntoCommand } from '../../cdk/bundling';

/**
 * Issue 13 point 7: the bundling hooks copy bot files and the pages with Node, not with
 * `mkdir -p`/`cp`, which cmd.exe does not have. The command is run here through the shell
 * exactly as CDK runs a command hook.
 */
const tmp = mkdtempSync(join(tmpdir(), 'satchel-copy-into-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('copyIntoCommand', () => {
  it('uses only node with double-quoted arguments (no cp, mkdir or shell-specific syntax)', () => {
    const command = copyIntoCommand('/out/bots', ['/repo/bots/demo.json']);
    expect(command).toBe(`"node" "${COPY_SCRIPT}" "/out/bots" "/repo/bots/demo.json"`);
    expect(command).not.toMatch(/\b(cp|mkdir)\b|&&|;/);
  });

  it('creates the destination and copies files and whole directories into it', () => {
    const src = join(tmp, 'src');
    mkdirSync(join(src, 'web', 'assets'), { recursive: true });
    writeFileSync(join(src, 'a.json'), '{"id":"a"}');
    writeFileSync(join(src, 'web', 'index.html'), '<p>hi</p>');
    writeFileSync(join(src, 'web', 'assets', 'app.js'), 'x()');
    const out = join(tmp, 'out', 'nested');
    execSync(copyIntoCommand(out, [join(src, 'a.json'), join(src, 'web')]), { stdio: 'pipe' });
    expect(readFileSync(join(out, 'a.json'), 'utf8')).toBe('{"id":"a"}');
    expect(readFileSync(join(out, 'web', 'index.html'), 'utf8')).toBe('<p>hi</p>');
    expect(readFileSync(join(out, 'web', 'assets', 'app.js'), 'utf8')).toBe('x()');
  });

  it('fails the bundling step when a source is missing', () => {
    expect(() => execSync(copyIntoCommand(join(tmp, 'out2'), [join(tmp, 'missing.json')]), { stdio: 'pipe' })).toThrow();
  });

  it('refuses a path it cannot quote', () => {
    expect(() => copyIntoCommand('/out', ['/repo/"odd".json'])).toThrow(/double quote/);
  });
});
