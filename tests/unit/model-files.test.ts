// Model integrity (issue 21): manifests of the bundled models against their files and the specs'
// pinned digests, and the verifying fetcher against an in-memory cache and network: a damaged
// cached file is fetched again, a server answer that does not match is refused with the file's
// name, a user-loaded file that does not match is named, and stale cached files are pruned.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/dataset/hash';
import { contentKey, manifestDigest, manifestOf, manifestText, parseManifest, verifiedFiles, type ByteCache } from '../../src/embed/model-files';
import { baseExtractorKey, BUILTIN_EXTRACTORS, extractorKey, parseExtractorSpec } from '../../src/embed/specs';

const root = path.resolve(import.meta.dirname, '..', '..');

function memoryCache(): ByteCache & { map: Map<string, ArrayBuffer> } {
  const map = new Map<string, ArrayBuffer>();
  return {
    map,
    get: async (k) => map.get(k)?.slice(0) ?? null,
    put: async (k, b) => void map.set(k, b.slice(0)),
    delete: async (k) => void map.delete(k),
    keys: async () => [...map.keys()],
  };
}

const bytes = (text: string) => new TextEncoder().encode(text).buffer as ArrayBuffer;
const FOLDER = 'https://app.test/models/m/';

async function fixture() {
  const files = [
    { path: 'model.json', bytes: bytes('{"weightsManifest":[]}') },
    { path: 'a.bin', bytes: bytes('AAAA-weights') },
    { path: 'b.bin', bytes: bytes('BBBB-weights') },
  ];
  const manifest = await manifestOf(files);
  const served = new Map(files.map((f) => [FOLDER + f.path, f.bytes]));
  const calls: { url: string; retry: boolean }[] = [];
  const network = async (url: string, _s: AbortSignal | undefined, retry: boolean) => {
    calls.push({ url, retry });
    const b = served.get(url);
    if (!b) throw new Error(`404 ${url}`);
    return b.slice(0);
  };
  return { files, manifest, digest: await manifestDigest(manifest), served, calls, network };
}

describe('bundled manifests', () => {
  for (const spec of BUILTIN_EXTRACTORS.filter((s) => s.origin === 'bundled')) {
    const dir = path.join(root, 'public', path.dirname(spec.modelUrl));
    const present = fs.existsSync(path.join(dir, 'model.json'));
    // ResNet-50 and nsfwjs exist after `npm install` (prepare-models), which CI always runs.
    it.runIf(present)(`${spec.id}: every file matches the manifest, nothing unlisted, digest = spec's pin = sha256sum listing`, async () => {
      const manifest = parseManifest(fs.readFileSync(path.join(dir, 'manifest.json')), spec.id);
      const onDisk = fs.readdirSync(dir).filter((f) => !f.startsWith('.') && f !== 'manifest.json' && f !== 'SOURCE.md').sort();
      expect(manifest.files.map((f) => f.path).sort()).toEqual(onDisk);
      for (const f of manifest.files) {
        const b = fs.readFileSync(path.join(dir, f.path));
        expect(b.length, f.path).toBe(f.bytes);
        expect(await sha256Hex(b), f.path).toBe(f.sha256);
      }
      // The manifest on disk is exactly what the app writes (sorted, one file a line).
      expect(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).toBe(manifestText(manifest));
      const digest = await manifestDigest(manifest);
      expect(digest, `${spec.id}: new weights need a new weightsDigest and a new version in specs.ts`).toBe(spec.weightsDigest);
      const shell = execFileSync('sh', ['-c', `cd "${dir}" && LC_ALL=C sha256sum ${onDisk.join(' ')} | sort -k2 | sha256sum`], { encoding: 'utf8' });
      expect(shell.split(' ')[0]).toBe(digest);
      // The model.json lists exactly the shards of the manifest.
      const model = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
      for (const p of model.weightsManifest.flatMap((g) => g.paths)) expect(onDisk).toContain(p);
    });
  }

  it('the Inception-v3 manifest lists the hashes of its model card (SOURCE.md)', () => {
    const dir = path.join(root, 'public', 'models', 'inception-v3-2015-mixed8');
    const card = fs.readFileSync(path.join(dir, 'SOURCE.md'), 'utf8');
    const listed = [...card.matchAll(/^([0-9a-f]{64}) {2}(\S+)$/gm)].map((m) => `${m[2]} ${m[1]}`).sort();
    const manifest = parseManifest(fs.readFileSync(path.join(dir, 'manifest.json')), 'inception');
    expect(manifest.files.map((f) => `${f.path} ${f.sha256}`).sort()).toEqual(listed);
  });

  it('rejects manifests that are not plain file lists', () => {
    const ok = { path: 'a.bin', bytes: 1, sha256: 'a'.repeat(64) };
    expect(() => parseManifest('nope', 'x')).toThrow(/not JSON/);
    expect(() => parseManifest(JSON.stringify({ files: [] }), 'x')).toThrow(/1 to 512/);
    expect(() => parseManifest(JSON.stringify({ files: [{ ...ok, path: '../a.bin' }] }), 'x')).toThrow(/plain file name/);
    expect(() => parseManifest(JSON.stringify({ files: [ok, ok] }), 'x')).toThrow(/listed twice/);
    expect(() => parseManifest(JSON.stringify({ files: [{ ...ok, sha256: 'A'.repeat(64) }] }), 'x')).toThrow(/SHA-256/);
    expect(() => parseManifest(JSON.stringify({ files: [{ ...ok, bytes: -1 }] }), 'x')).toThrow(/byte count/);
    expect(parseManifest(JSON.stringify({ files: [ok] }), 'x')).toEqual({ files: [ok] });
  });
});

describe('extractor key and weights', () => {
  const spec = BUILTIN_EXTRACTORS[0]!;
  it('keeps the key for the pinned weights and names other weights', () => {
    expect(extractorKey(spec, spec.weightsDigest)).toBe(extractorKey(spec));
    const other = 'f'.repeat(64);
    expect(extractorKey(spec, other)).toBe(`${extractorKey(spec)}#${'f'.repeat(16)}`);
    expect(baseExtractorKey(extractorKey(spec, other))).toBe(extractorKey(spec));
    expect(parseExtractorSpec({ ...spec }).weightsDigest).toBe(spec.weightsDigest);
    expect(() => parseExtractorSpec({ ...spec, weightsDigest: 'xyz' })).toThrow(/weightsDigest/);
  });
});

describe('verified model files', () => {
  it('first load: fetched, checked, cached under content keys; second load from the cache only', async () => {
    const fx = await fixture();
    const cache = memoryCache();
    const v = verifiedFiles({ manifest: fx.manifest, digest: fx.digest, folderUrl: FOLDER, cache, network: fx.network, modelName: 'M' });
    for (const f of fx.files) expect(new Uint8Array(await v.fetchBytes(FOLDER + f.path))).toEqual(new Uint8Array(f.bytes));
    expect(v.report.fetched.sort()).toEqual(['a.bin', 'b.bin', 'model.json']);
    expect(v.report.verifiedFiles).toBe(3);
    expect([...cache.map.keys()].sort()).toEqual(fx.manifest.files.map((f) => contentKey(FOLDER + f.path, f.sha256)).sort());
    fx.calls.length = 0;
    const again = verifiedFiles({ manifest: fx.manifest, digest: fx.digest, folderUrl: FOLDER, cache, network: fx.network, modelName: 'M' });
    for (const f of fx.files) await again.fetchBytes(FOLDER + f.path);
    expect(fx.calls).toEqual([]);
    expect(again.report).toMatchObject({ verifiedFiles: 3, repaired: [], fetched: [] });
  });

  it('a damaged cached file (same length, other bytes) is detected, fetched again and replaced', async () => {
    const fx = await fixture();
    const cache = memoryCache();
    const a = fx.manifest.files.find((f) => f.path === 'a.bin')!;
    cache.map.set(contentKey(FOLDER + 'a.bin', a.sha256), bytes('AAAA-weighTs'));
    const v = verifiedFiles({ manifest: fx.manifest, digest: fx.digest, folderUrl: FOLDER, cache, network: fx.network, modelName: 'M' });
    expect(new TextDecoder().decode(await v.fetchBytes(FOLDER + 'a.bin'))).toBe('AAAA-weights');
    expect(v.report.repaired).toEqual(['a.bin']);
    expect(fx.calls).toEqual([{ url: FOLDER + 'a.bin', retry: false }]);
    expect(new TextDecoder().decode(cache.map.get(contentKey(FOLDER + 'a.bin', a.sha256))!)).toBe('AAAA-weights');
  });

  it('a server answer that does not match is retried past the HTTP cache once, then refused naming the file; nothing is cached', async () => {
    const fx = await fixture();
    fx.served.set(FOLDER + 'b.bin', bytes('BBBB-weightz'));
    const cache = memoryCache();
    const v = verifiedFiles({ manifest: fx.manifest, digest: fx.digest, folderUrl: FOLDER, cache, network: fx.network, modelName: 'M' });
    await expect(v.fetchBytes(FOLDER + 'b.bin')).rejects.toThrow(/The server sent b\.bin of “M” with other contents/);
    expect(fx.calls).toEqual([
      { url: FOLDER + 'b.bin', retry: false },
      { url: FOLDER + 'b.bin', retry: true },
    ]);
    expect(cache.map.size).toBe(0);
    // A truncated answer is caught by its length before hashing.
    fx.served.set(FOLDER + 'b.bin', bytes('BBBB'));
    await expect(v.fetchBytes(FOLDER + 'b.bin')).rejects.toThrow(/4 bytes, expected 12 bytes/);
  });

  it('a user-loaded file (no network) that is damaged or missing is named, and files outside the manifest are refused', async () => {
    const fx = await fixture();
    const cache = memoryCache();
    for (const f of fx.manifest.files) cache.map.set(contentKey(FOLDER + f.path, f.sha256), fx.served.get(FOLDER + f.path)!.slice(0));
    const b = fx.manifest.files.find((f) => f.path === 'b.bin')!;
    cache.map.set(contentKey(FOLDER + 'b.bin', b.sha256), bytes('BBBB-weightz'));
    const v = verifiedFiles({ manifest: fx.manifest, digest: fx.digest, folderUrl: FOLDER, cache, network: null, modelName: 'My net' });
    await expect(v.fetchBytes(FOLDER + 'a.bin')).resolves.toBeInstanceOf(ArrayBuffer);
    await expect(v.fetchBytes(FOLDER + 'b.bin')).rejects.toThrow(/The file b\.bin of “My net” is damaged on this device .*load it again from your files/);
    await expect(v.fetchBytes(FOLDER + 'b.bin')).rejects.toThrow(/b\.bin of “My net” is missing on this device/);
    await expect(v.fetchBytes(FOLDER + 'c.bin')).rejects.toThrow(/c\.bin is not listed in the manifest of My net/);
  });

  it('prune drops this folder’s files the manifest no longer lists (old URL keys, old hashes), keeps the manifest copy and other folders', async () => {
    const fx = await fixture();
    const cache = memoryCache();
    const v = verifiedFiles({ manifest: fx.manifest, digest: fx.digest, folderUrl: FOLDER, cache, network: fx.network, modelName: 'M', keep: [FOLDER + 'manifest.json'] });
    for (const f of fx.files) await v.fetchBytes(FOLDER + f.path);
    const kept = [...cache.map.keys()];
    cache.map.set(FOLDER + 'a.bin', bytes('old, keyed by URL'));
    cache.map.set(contentKey(FOLDER + 'a.bin', '0'.repeat(64)), bytes('old weights'));
    cache.map.set(FOLDER + 'manifest.json', bytes('{}'));
    cache.map.set('https://app.test/models/other/a.bin', bytes('another model'));
    expect(await v.prune()).toBe(2);
    expect([...cache.map.keys()].sort()).toEqual([...kept, FOLDER + 'manifest.json', 'https://app.test/models/other/a.bin'].sort());
  });
});
