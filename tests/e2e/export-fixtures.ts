// Bad archives for the export/import tests (browser and unit), made with fflate: zip bombs with
// honest and forged sizes, "../" and absolute paths, truncation, a wrong manifest hash, a JSON
// entry whose header claims 2 GB, a nested archive, and labels with HTML in them.
import { createHash } from 'node:crypto';
import { strToU8, unzipSync, zipSync, type Zippable } from 'fflate';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Unzips, lets `mutate` change the files, rewrites manifest.json to match, zips again. */
export function rewriteArchive(zip: Uint8Array, mutate: (files: Record<string, Uint8Array>) => void, fixManifest = true): Uint8Array {
  const files = unzipSync(zip);
  mutate(files);
  if (fixManifest) {
    const manifest = JSON.parse(new TextDecoder().decode(files['manifest.json'])) as { entries: { path: string; size: number; sha256: string }[] };
    manifest.entries = Object.entries(files)
      .filter(([p]) => p !== 'manifest.json')
      .map(([path, bytes]) => ({ path, size: bytes.byteLength, sha256: sha256(bytes) }));
    files['manifest.json'] = strToU8(JSON.stringify(manifest));
  }
  return zipSync(files as Zippable);
}

/**
 * Overwrites the uncompressed size of the named entries (all when `only` is omitted) in both the
 * local headers and the central directory, the way a forged archive would.
 */
export function forgeSizes(zip: Uint8Array, size: number, only?: (name: string) => boolean): Uint8Array {
  const out = zip.slice();
  const v = new DataView(out.buffer);
  let eocd = -1;
  for (let i = out.length - 22; i >= 0; i--) if (v.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) throw new Error('no end of central directory');
  const count = v.getUint16(eocd + 10, true);
  let cd = v.getUint32(eocd + 16, true);
  const dec = new TextDecoder();
  for (let n = 0; n < count; n++) {
    const nameLen = v.getUint16(cd + 28, true);
    const extraLen = v.getUint16(cd + 30, true);
    const commentLen = v.getUint16(cd + 32, true);
    const name = dec.decode(out.subarray(cd + 46, cd + 46 + nameLen));
    const local = v.getUint32(cd + 42, true);
    if (!only || only(name)) {
      v.setUint32(cd + 24, size >>> 0, true);
      v.setUint32(local + 22, size >>> 0, true);
    }
    cd += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

export interface BadArchive {
  name: string;
  bytes: Uint8Array;
  /** What the error message must say. */
  error: RegExp;
}

/** Every bad variant of a good project archive, each with the error it must produce. */
export function badArchives(good: Uint8Array): BadArchive[] {
  const zeros = new Uint8Array(100 * 1024 * 1024); // 100 MiB of zeros deflate to ~100 KiB
  const bomb = zipSync({ 'manifest.json': strToU8('{}'), 'images/0.jpg': [zeros, { level: 1 }] });
  const withEntry = (path: string, bytes: Uint8Array) => rewriteArchive(good, (f) => {
    f[path] = bytes;
  }, false);
  return [
    { name: 'bomb.zip', bytes: bomb, error: /claims 100\.0 MB, more than the 64\.0 MB allowed/ },
    { name: 'bomb-forged.zip', bytes: forgeSizes(bomb, 1000), error: /more than the 1000 bytes its header declares: the archive's sizes are forged/ },
    { name: 'dotdot.zip', bytes: withEntry('../../evil.jpg', strToU8('x')), error: /points outside the archive \(“\.\.\/”\)/ },
    { name: 'absolute.zip', bytes: withEntry('/etc/evil.json', strToU8('{}')), error: /has an absolute path/ },
    { name: 'truncated.zip', bytes: good.slice(0, Math.floor(good.length * 0.6)), error: /is truncated/ },
    {
      name: 'wrong-hash.zip',
      // One byte of one image changed, same size: only the hash can tell.
      bytes: rewriteArchive(good, (f) => {
        const img = f['images/0.jpg']!;
        img[img.length - 3] = (img[img.length - 3]! + 1) & 255;
      }, false),
      error: /“images\/0\.jpg” does not match its SHA-256 in the manifest/,
    },
    { name: 'huge-json.zip', bytes: forgeSizes(good, 2 ** 31, (n) => n === 'project.json'), error: /“project\.json” claims 2\.0 GB, more than the 16\.0 MB allowed/ },
    { name: 'nested.zip', bytes: withEntry('images/more.zip', zipSync({ 'a.txt': strToU8('a') })), error: /contains another archive/ },
  ];
}

export const HTML_LABELS = ['<img src=x onerror="window.__pwned=1">', '<b>bold</b> & <script>window.__pwned=2</script>'];

/** The good archive with its first classes renamed to HTML (a valid archive: it must import). */
export function htmlLabelArchive(good: Uint8Array): Uint8Array {
  return rewriteArchive(good, (f) => {
    const dec = new TextDecoder();
    const p = JSON.parse(dec.decode(f['project.json'])) as { project: { name: string }; classes: { id: string; name: string }[] };
    p.project.name = '<i>html</i> project';
    const renamed = new Map<string, string>();
    HTML_LABELS.forEach((label, i) => {
      const c = p.classes[i];
      if (c) {
        c.name = label;
        renamed.set(c.id, label);
      }
    });
    f['project.json'] = strToU8(JSON.stringify(p));
    if (f['head/head.json']) {
      const h = JSON.parse(dec.decode(f['head/head.json'])) as { labels: string[]; classNames: string[] };
      h.classNames = h.labels.map((id, i) => renamed.get(id) ?? h.classNames[i]!);
      f['head/head.json'] = strToU8(JSON.stringify(h));
    }
  });
}
