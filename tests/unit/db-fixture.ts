// Database fixtures (tests/fixtures/db/vN.json): a database as an older version of the app wrote
// it, JSON with markers for Blobs ($blob) and Float32Arrays ($f32). Written with its own schema
// version and layout, then opened by today's GlimpseDB, which upgrades it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Dexie } from 'dexie';
import { GlimpseDB } from '../../src/store/db';

export const FIXTURES = join(import.meta.dirname, '../fixtures/db');

export interface Fixture {
  format: 'glimpse-db-fixture';
  schemaVersion: number;
  stores: Record<string, string>;
  tables: Record<string, unknown[]>;
}

export type Rows = Record<string, Record<string, unknown>[]>;

/** Turns the JSON markers back into what the app stored: Blobs and Float32Arrays. */
export function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if (typeof obj.$blob === 'string') return new Blob([Buffer.from(obj.$blob, 'base64')], { type: String(obj.type ?? '') });
  if (Array.isArray(obj.$f32)) return Float32Array.from(obj.$f32 as number[]);
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, decode(v)]));
}

export function readFixture(file: string): { fx: Fixture; rows: Rows } {
  const fx = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Fixture;
  if (fx.format !== 'glimpse-db-fixture') throw new Error(`${file} is not a database fixture`);
  return { fx, rows: decode(fx.tables) as Rows };
}

/** Writes the fixture with its own schema version and layout, then closes the connection. */
export async function writeFixture(name: string, fx: Fixture, rows: Rows): Promise<void> {
  const old = new Dexie(name);
  old.version(fx.schemaVersion).stores(fx.stores);
  await old.transaction('rw', Object.keys(rows), async () => {
    for (const [table, list] of Object.entries(rows)) await old.table(table).bulkAdd(list);
  });
  old.close();
}

/** The fixture written under a fresh name and opened (upgraded) by today's GlimpseDB; close it with db.delete(). */
export async function openFixture(file: string, prefix: string): Promise<{ db: GlimpseDB; rows: Rows }> {
  const { fx, rows } = readFixture(file);
  const name = `${prefix}-${file}-${crypto.randomUUID()}`;
  await writeFixture(name, fx, rows);
  const db = new GlimpseDB(name);
  await db.open();
  return { db, rows };
}
