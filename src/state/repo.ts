// The app's one handle on the storage layer, created on first use. Views never import the store:
// they use the hooks and actions of state/, and the row types re-exported here.
import { createRepo, type Repo } from '../store/repo';

export type { ClassRow, ProjectRow, SampleRow, SampleSource } from '../store/repo';
export { PALETTE } from '../store/validate';

let shared: Repo | null = null;

export function repo(): Repo {
  shared ??= createRepo();
  return shared;
}
