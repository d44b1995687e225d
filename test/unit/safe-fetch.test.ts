import { describe, expect, it } from 'vitest';
import { FetchFailure, hostKey, isPublicAddress, safeFetch } from '../../shared/adapters/safe-fetch';

const refusal = async (url: string, options = {}) => {
  const err = await safeFetch(url, { connectTimeoutMs: 500, timeoutMs: 1000, ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FetchFailure);
  return err as FetchFailure;
};

describe('isPublicAddress', () => {
  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
  ])('accepts public unicast %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it.each([
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this network'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'IETF protocol assignments'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fe80::1', 'IPv6 link-local'],
    ['fd00::1', 'unique-local'],
    ['fc00::1', 'unique-local'],
    ['ff02::1', 'IPv6 multicast'],
    ['fec0::1', 'deprecated site-local'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
    ['::ffff:0:7f00:1', 'IPv4-translated loopback'],
    ['::7f00:1', 'IPv4-compatible loopback (deprecated ::/96)'],
    ['::a9fe:a9fe', 'IPv4-compatible metadata address'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['64:ff9b:1::a00:1', 'local-use NAT64'],
    ['2002:7f00:1::1', '6to4 of loopback'],
    ['2002:a9fe:a9fe::1', '6to4 of metadata'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'teredo of 127.0.0.1'],
    ['2001:db8::1', 'documentation'],
    ['100::1', 'discard-only'],
    ['not-an-ip', 'not an address'],
  ])('refuses %s (%s)', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });
});

describe('hostKey', () => {
  it('fills in default ports and keeps IPv6 brackets, as FETCH_ALLOW_HOSTS spells hosts', () => {
    expect(hostKey(new URL('http://Docs.Example.com/x'))).toBe('docs.example.com:80');
    expect(hostKey(new URL('https://docs.example.com/x'))).toBe('docs.example.com:443');
    expect(hostKey(new URL('http://127.0.0.1:4570/x'))).toBe('127.0.0.1:4570');
    expect(hostKey(new URL('http://[::1]:8080/x'))).toBe('[::1]:8080');
  });
});

describe('safeFetch refuses before connecting', () => {
  it.each([
    ['ftp://example.com/file', 'scheme_not_allowed'],
    ['file:///etc/passwd', 'scheme_not_allowed'],
    ['gopher://127.0.0.1:70/', 'scheme_not_allowed'],
    ['data:text/plain,hi', 'scheme_not_allowed'],
    ['not a url', 'invalid_url'],
    ['http://user:pass@example.com/', 'invalid_url'],
  ])('%s → %s', async (url, reason) => {
    expect((await refusal(url)).reason).toBe(reason);
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://127.0.0.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[0:0:0:0:0:ffff:7f00:1]/',
    'http://[64:ff9b::7f00:1]/',
    'http://[2002:7f00:1::1]/',
    'http://[::127.0.0.1]/', // IPv4-compatible; the URL parser rewrites it to [::7f00:1]
    'http://2130706433/', // decimal 127.0.0.1
    'http://0177.0.0.1/', // octal
    'http://0x7f.0.0.1/', // hex
    'http://0x7f000001/',
    'http://017700000001/',
    'http://127.1/', // short form
    'http://2852039166/', // decimal 169.254.169.254
    'http://0xa9fea9fe/',
    'http://0251.0376.0251.0376/',
    'http://0/',
    'http://0.0.0.0:8080/',
    'http://10.0.0.1/',
    'http://100.64.0.1/',
    'https://192.168.0.1/',
  ])('%s → address_refused', async (url) => {
    expect((await refusal(url)).reason).toBe('address_refused');
  });

  it('refuses a name that resolves to a private address, and one with any private answer among public ones', async () => {
    const privateName = await refusal('http://internal.example/', { resolve: async () => [{ address: '10.1.2.3', family: 4 }] });
    expect(privateName.reason).toBe('address_refused');
    const mixed = await refusal('http://rebind.example/', {
      resolve: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    });
    expect(mixed.reason).toBe('address_refused');
    const mapped = await refusal('http://mapped.example/', { resolve: async () => [{ address: '::ffff:169.254.169.254', family: 6 }] });
    expect(mapped.reason).toBe('address_refused');
  });

  it('gives up on a connection that cannot be made in time', async () => {
    const err = await refusal('http://slow-dns.example/', { connectTimeoutMs: 100, resolve: () => new Promise(() => undefined) });
    expect(err.reason).toBe('connect_timeout');
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    const pending = refusal('http://slow-dns.example/', { connectTimeoutMs: 5000, signal: controller.signal, resolve: () => new Promise(() => undefined) });
    controller.abort();
    expect((await pending).reason).toBe('network_error');
  });

  it('never puts the URL path, query or headers into failure messages', async () => {
    const err = await refusal('http://127.0.0.1/secret-path?token=abc123', { headers: { Authorization: 'Bearer s3cr3t' } });
    expect(err.message).not.toMatch(/secret-path|abc123|s3cr3t/);
  });
});
