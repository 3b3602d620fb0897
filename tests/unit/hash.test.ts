// Stable hashes: published test vectors, UTF-8 handling and the spread of stableUnitHash.
import { describe, expect, it } from 'vitest';
import { fnv1a32, murmur3_32, sha256Hex, stableUnitHash } from '../../src/dataset/hash';

describe('fnv1a32', () => {
  it('matches the published FNV-1a 32-bit vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes UTF-8 bytes, not UTF-16 code units', () => {
    // 'é' is C3 A9 in UTF-8: hash those two bytes by hand.
    let h = 0x811c9dc5;
    for (const byte of [0xc3, 0xa9]) h = Math.imul(h ^ byte, 0x01000193);
    expect(fnv1a32('é')).toBe(h >>> 0);
  });

  it('is unsigned', () => {
    for (const s of ['a', 'b', 'hello', 'img-001.jpg']) {
      expect(fnv1a32(s)).toBeGreaterThanOrEqual(0);
      expect(fnv1a32(s)).toBeLessThan(2 ** 32);
    }
  });
});

describe('murmur3_32', () => {
  it('matches the published MurmurHash3 x86_32 vectors', () => {
    expect(murmur3_32('')).toBe(0);
    expect(murmur3_32('', 1)).toBe(0x514e28b7);
    expect(murmur3_32('hello')).toBe(0x248bfa47);
    expect(murmur3_32('Hello, world!')).toBe(0xc0363e43);
    expect(murmur3_32('The quick brown fox jumps over the lazy dog')).toBe(0x2e4ff723);
    expect(murmur3_32('test', 0x9747b28c)).toBe(0x704b81dc);
  });
});

describe('stableUnitHash', () => {
  it('is deterministic and in [0, 1)', () => {
    for (let i = 0; i < 1000; i++) {
      const h = stableUnitHash(`sample-${i}`);
      expect(h).toBe(stableUnitHash(`sample-${i}`));
      expect(h >= 0 && h < 1).toBe(true);
    }
    expect(stableUnitHash('daisy/1.jpg')).toBe(murmur3_32('daisy/1.jpg') / 2 ** 32);
  });

  it('spreads ids that differ in one character over the whole interval', () => {
    // Ten equal buckets over 10000 sequential ids: each should hold close to 1000.
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const b = Math.floor(stableUnitHash(`img-${i}`) * 10);
      buckets[b] = (buckets[b] ?? 0) + 1;
    }
    for (const n of buckets) expect(Math.abs(n - 1000)).toBeLessThan(120);
  });
});

describe('sha256Hex', () => {
  it('gives the FIPS 180-2 digest of "abc" for an ArrayBuffer and a Uint8Array alike', async () => {
    const bytes = new TextEncoder().encode('abc');
    const want = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(await sha256Hex(bytes)).toBe(want);
    expect(await sha256Hex(bytes.slice().buffer)).toBe(want);
  });
});
