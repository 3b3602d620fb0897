// npm run eval's test sets (issue #18, "evaluation you can trust"): the ImageNet class index
// always comes from the model's own labels (a folder holding a few synsets, without the CSV,
// evaluates correctly), class folders that are symbolic links are followed, and an empty or
// unreadable set is an error with a clear message and a non-zero exit code.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { listImageFolder } from '../../scripts/lib/dataset-files';
import { imagenetTable, labelIndex } from '../../scripts/lib/imagenet-index';
import { repoRoot, sharedRoot } from '../../scripts/lib/node-env';

const SAMPLE = path.join(sharedRoot, 'datasets', 'imagenet-sample');
const FLOWERS = path.join(sharedRoot, 'datasets', 'flower_photos');
const resnetLabels = JSON.parse(fs.readFileSync(path.join(repoRoot, 'public', 'models', 'resnet50-imagenet', 'labels.json'), 'utf8')) as string[];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glimpse-eval-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The dataset's own CSV (index, synset, ...): the reference the map must agree with. */
function csvIndex(): Map<string, number> {
  const rows = fs.readFileSync(path.join(SAMPLE, 'imagenet_classes.csv'), 'utf8').trim().split('\n').slice(1);
  return new Map(rows.map((r) => [r.split(',')[1]!, Number(r.split(',')[0])]));
}

function evalCli(args: string[]): Promise<{ code: number; out: string }> {
  return promisify(execFile)(process.execPath, [path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(repoRoot, 'scripts', 'eval.ts'), ...args], { cwd: repoRoot, timeout: 300_000, maxBuffer: 1 << 24 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
}

describe('ImageNet label map', () => {
  it('maps synsets and label names to the model’s own indices, whatever folders the test set holds', async () => {
    const index = labelIndex(resnetLabels, await imagenetTable());
    expect(index.synsets).toBe(true);
    const ref = csvIndex();
    // A subset (three synsets far apart): each gets its own ImageNet index, not its rank in the folder list.
    for (const s of ['n01443537', 'n04254680', 'n11939491']) expect(index.indexOf(s)).toBe(ref.get(s));
    expect(index.indexOf('n01443537')).toBe(1);
    expect(resnetLabels[index.indexOf('n11939491')!]).toBe('daisy');
    expect(index.indexOf('goldfish')).toBe(1);
    expect(index.indexOf('n99999999')).toBeUndefined();
    // Every synset of the table agrees with the dataset's CSV.
    for (const [s, i] of ref) expect(index.indexOf(s)).toBe(i);
  });

  it('uses synsets only when the model’s labels are the ImageNet-1k names in order', async () => {
    const shuffled = [...resnetLabels.slice(1), resnetLabels[0]!];
    const index = labelIndex(shuffled, await imagenetTable());
    expect(index.synsets).toBe(false);
    expect(index.indexOf('n01443537')).toBeUndefined();
    expect(index.indexOf('goldfish')).toBe(0);
  });
});

describe('test folders', () => {
  it('follows class folders that are symbolic links', async () => {
    const dir = path.join(tmp, 'linked');
    fs.mkdirSync(dir);
    fs.symlinkSync(path.join(FLOWERS, 'daisy'), path.join(dir, 'daisy'));
    fs.mkdirSync(path.join(dir, 'roses'));
    fs.copyFileSync(path.join(FLOWERS, 'roses', fs.readdirSync(path.join(FLOWERS, 'roses')).sort()[0]!), path.join(dir, 'roses', 'a.jpg'));
    const listed = await listImageFolder(dir, () => undefined);
    expect(listed.classes).toEqual(['daisy', 'roses']);
    expect(listed.files.filter((f) => f.className === 'daisy')).toHaveLength(fs.readdirSync(path.join(FLOWERS, 'daisy')).filter((f) => /\.jpe?g$/i.test(f)).length);
  });

  it('an empty set, a missing folder or a dangling link is an error that says what is wrong', async () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(path.join(empty, 'daisy'), { recursive: true });
    await expect(listImageFolder(empty, () => undefined)).rejects.toThrow(/No images in .*empty.*1 folders without any/);
    await expect(listImageFolder(path.join(tmp, 'nope'), () => undefined)).rejects.toThrow(/Cannot read .*nope/);
    const dangling = path.join(tmp, 'dangling');
    fs.mkdirSync(dangling);
    fs.symlinkSync(path.join(tmp, 'gone'), path.join(dangling, 'daisy'));
    await expect(listImageFolder(dangling, () => undefined)).rejects.toThrow(/Cannot follow the link/);
  });

  it('npm run eval exits non-zero with the message for an empty test set', async () => {
    const r = await evalCli(['--extractor', 'resnet50-imagenet', '--test', path.join(tmp, 'empty')]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/eval failed: No images in/);
    expect(r.out).not.toMatch(/NaN/);
  }, 120_000);

  it('npm run eval scores a folder of three linked synsets without the CSV', async () => {
    const dir = path.join(tmp, 'subset');
    fs.mkdirSync(dir);
    for (const s of ['n01443537', 'n04254680', 'n11939491']) fs.symlinkSync(path.join(SAMPLE, s), path.join(dir, s));
    const r = await evalCli(['--extractor', 'resnet50-imagenet', '--test', dir]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/top1: 1\.0000 top5: 1\.0000 \(n=3\)/);
  }, 300_000);
});
