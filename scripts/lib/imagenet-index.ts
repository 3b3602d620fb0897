// Which ImageNet class a test folder holds, for `npm run eval -- --test <dir>` (top-1/top-5). The
// map always comes from the model's own labels: imagenet-synsets.json lists the 1,000 synsets in
// the standard ImageNet-1k order with their names (made from imagenet-sample/imagenet_classes.csv,
// the order Keras' decode_predictions uses), and it is used only if those names are exactly the
// model's labels. A folder is then a synset ("n01443537") or a label ("goldfish"). The folder
// list never decides an index: a test folder holding a few synsets evaluates as well as all 1,000.
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface LabelIndex {
  /** The model's class index for a folder name, or undefined when it names no class. */
  indexOf(folder: string): number | undefined;
  /** Whether folder names may be synsets (the model's labels are the ImageNet-1k names). */
  synsets: boolean;
}

const TABLE = fileURLToPath(new URL('./imagenet-synsets.json', import.meta.url));

export async function imagenetTable(): Promise<[string, string][]> {
  return JSON.parse(await fs.readFile(TABLE, 'utf8')) as [string, string][];
}

/** The map for a model whose classifier has these labels (index i = labels[i]). */
export function labelIndex(labels: readonly string[], table: readonly [string, string][]): LabelIndex {
  const byName = new Map<string, number>();
  labels.forEach((l, i) => {
    if (!byName.has(l)) byName.set(l, i);
  });
  const synsets = table.length === labels.length && table.every(([, name], i) => name === labels[i]);
  const bySynset = new Map<string, number>(synsets ? table.map(([s], i) => [s, i]) : []);
  return {
    synsets,
    indexOf: (folder) => bySynset.get(folder) ?? byName.get(folder),
  };
}
