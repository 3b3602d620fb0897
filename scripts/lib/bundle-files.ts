// Model bundles on disk (npm run eval -- --export, unit tests): TF.js's tf.min.js for the bundle's
// web page, writing a bundle's files, and a plain tf.io handler that reads model.json + weights
// from disk the way the bundle's own Node example does (plain TF.js has no file:// loader).
import fs from 'node:fs/promises';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { repoRoot } from './node-env';

/** The exact TF.js build the app uses, copied into the bundle as example/tf.min.js. */
export async function tfjsScriptBytes(): Promise<Uint8Array> {
  return new Uint8Array(await fs.readFile(path.join(repoRoot, 'node_modules', '@tensorflow', 'tfjs', 'dist', 'tf.min.js')));
}

export async function writeBundle(dir: string, files: Record<string, Uint8Array>): Promise<void> {
  for (const [rel, bytes] of Object.entries(files)) {
    const file = path.join(dir, rel);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, bytes);
  }
}

/** model.json + the weight files it lists (paths relative to it, "../" included). */
export function diskModel(modelJsonPath: string): tf.io.IOHandler {
  return {
    async load() {
      const json = JSON.parse(await fs.readFile(modelJsonPath, 'utf8')) as { modelTopology: object; format?: string; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
      const specs: tf.io.WeightsManifestEntry[] = [];
      const parts: Buffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) parts.push(await fs.readFile(path.join(path.dirname(modelJsonPath), p)));
      }
      const all = Buffer.concat(parts);
      return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer, ...(json.format ? { format: json.format } : {}) };
    },
  };
}
