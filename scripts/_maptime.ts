import { pcaMap, umapMap } from '../src/train/map';
const n = Number(process.env.N ?? 300), d = 2048;
const x = new Float32Array(n * d);
let s = 1; const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = Math.max(0, r() - 0.5 + (j % 5 === i % 5 ? 0.5 : 0));
let t = performance.now(); const p = pcaMap(x, n, d); console.log('pca', performance.now() - t, p.slice(0, 4));
t = performance.now(); const u = umapMap(x, n, d); console.log('umap', performance.now() - t, u.slice(0, 4));
t = performance.now(); const u2 = umapMap(x, n, d); console.log('umap again same?', u.every((v, i) => v === u2[i]), performance.now() - t);
