// Dexie's liveQuery for state/'s shared hooks (state/shared-query.ts): the query runs again after
// every committed write to what it read, in this tab or another.
export { liveQuery } from 'dexie';
export type { Subscription } from 'dexie';
