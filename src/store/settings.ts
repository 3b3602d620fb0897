// Settings repository: app-wide key/value preferences in the `settings` table (per-project
// options live in ProjectRow.settings instead). Values must be structured-cloneable.

import type { GlimpseDB } from './db';
import { ro, rw } from './tx';

export function settingsRepo(db: GlimpseDB) {
  return {
    /** The stored value, or `fallback` when the key was never set. */
    async get<T>(key: string, fallback: T): Promise<T> {
      const row = await ro(db, [db.settings], () => db.settings.get(key));
      return row === undefined ? fallback : (row.value as T);
    },

    async set(key: string, value: unknown): Promise<void> {
      await rw(db, [db.settings], () => db.settings.put({ key, value }));
    },

    async delete(key: string): Promise<void> {
      await rw(db, [db.settings], () => db.settings.delete(key));
    },
  };
}

export type SettingsRepo = ReturnType<typeof settingsRepo>;
