// Image folders laid out as <dir>/<class>/<file>, and the on-disk embedding cache of the eval CLI.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface LabelledFile {
  file: string;
  /** Stable id for hashing splits: "<class>/<file name>". */
  id: string;
  className: string;
}

const IMAGE_EXT = /\.(jpe?g|png)$/i;

/**
 * Lists class folders and their images. Class folders that are symbolic links are followed
 * (Dirent.isDirectory() is false for a link, so each link is stat'ed). A folder that cannot be
 * read, or a set without a single image, is an error: an evaluation on a silently smaller or
 * empty set would print a wrong number. Non-images are reported and skipped.
 */
export async function listImageFolder(dir: string, warn: (msg: string) => void): Promise<{ classes: string[]; files: LabelledFile[] }> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new Error(`Cannot read ${dir}: ${(err as Error).message}`);
  }
  const classes: string[] = [];
  for (const e of entries) {
    if (e.isDirectory()) classes.push(e.name);
    else if (e.isSymbolicLink()) {
      const target = await fs.stat(path.join(dir, e.name)).catch((err: Error) => {
        throw new Error(`Cannot follow the link ${path.join(dir, e.name)}: ${err.message}`);
      });
      if (target.isDirectory()) classes.push(e.name);
    }
  }
  classes.sort();
  const files: LabelledFile[] = [];
  for (const className of classes) {
    let names: string[];
    try {
      names = (await fs.readdir(path.join(dir, className))).sort();
    } catch (err) {
      throw new Error(`Cannot read the class folder ${path.join(dir, className)}: ${(err as Error).message}`);
    }
    for (const name of names) {
      if (!IMAGE_EXT.test(name)) {
        if (!/\.(csv|md|txt)$/i.test(name)) warn(`skipped ${className}/${name}: not a JPEG or PNG`);
        continue;
      }
      files.push({ file: path.join(dir, className, name), id: `${className}/${name}`, className });
    }
  }
  if (files.length === 0) {
    throw new Error(`No images in ${dir}: expected one sub-folder per class holding JPEG or PNG files${classes.length ? ` (found ${classes.length} folders without any)` : ' (found no sub-folders)'}.`);
  }
  return { classes, files };
}

/** Embeddings cached by extractor key and file content hash. */
export class EmbeddingCache {
  private readonly dir: string;
  constructor(root: string, extractorKey: string) {
    this.dir = path.join(root, extractorKey.replace(/[^a-zA-Z0-9._-]+/g, '_'));
  }

  static async hashFile(file: string): Promise<string> {
    return crypto.createHash('sha256').update(await fs.readFile(file)).digest('hex');
  }

  async get(hash: string, dim: number): Promise<Float32Array | null> {
    try {
      const buf = await fs.readFile(path.join(this.dir, `${hash}.f32`));
      if (buf.byteLength !== dim * 4) return null;
      return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    } catch {
      return null;
    }
  }

  async put(hash: string, vector: Float32Array): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const tmp = path.join(this.dir, `${hash}.${process.pid}.tmp`);
    await fs.writeFile(tmp, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
    await fs.rename(tmp, path.join(this.dir, `${hash}.f32`));
  }
}
