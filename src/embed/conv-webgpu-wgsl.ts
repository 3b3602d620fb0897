// The WGSL of the implicit-GEMM convolution (conv-webgpu.ts has what it is, how it is chosen
// and run): the tile and geometry types and the source generator. Every size but the batch is
// baked into the text; the row count M comes from the uniform `uniforms.M`.

export interface IgemmTile {
  bm: number;
  bn: number;
  bk: number;
  /** Output rows per thread. */
  tm: number;
  /** Output channels per thread (a multiple of 4). */
  tn: number;
}

export interface ConvGeom {
  batch: number;
  inH: number;
  inW: number;
  cin: number;
  outH: number;
  outW: number;
  cout: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
}

export const tileName = (t: IgemmTile): string => `${t.bm}x${t.bn}x${t.bk}_${t.tm}x${t.tn}`;

/** The WGSL body (TF.js prepends the bindings: result, x, W, bias, uniforms). */
export function igemmSource(g: ConvGeom, t: IgemmTile, bias: boolean, relu: boolean): string {
  // The row count M = batch * outH * outW is the one size read from a uniform: the batch size
  // changes between calls (an import's last batch) and a new shader per batch size would mean
  // compiling every conv shader again (about 3 s for Inception-v3 on an H200's Dawn).
  const M = 'uniforms.M';
  const K = g.kh * g.kw * g.cin;
  const N = g.cout;
  const TX = t.bn / t.tn;
  const TY = t.bm / t.tm;
  const T = TX * TY;
  const NG = t.tn / 4; // vec4 column groups per thread
  const QA = (t.bm * t.bk) / 4; // vec4 of A per chunk
  const QB = (t.bk * t.bn) / 4; // vec4 of B per chunk
  const LA = Math.ceil(QA / T);
  const LB = Math.ceil(QB / T);
  const NT = Math.ceil(K / t.bk);
  const KQ = t.bk / 4;
  const BNQ = t.bn / 4;
  const pointwise =
    g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.padTop === 0 && g.padLeft === 0;
  const L: string[] = [];
  const p = (s: string): void => void L.push(s);
  p(`var<workgroup> As: array<vec4<f32>, ${2 * QA}>;`);
  p(`var<workgroup> Bs: array<vec4<f32>, ${2 * QB}>;`);
  p(`fn main() {`);
  p(`  let li = i32(localIndex);`);
  p(`  let tx = li % ${TX};`);
  p(`  let ty = li / ${TX};`);
  p(`  let m0 = i32(workgroupId.y) * ${t.bm};`);
  p(`  let nt0 = i32(workgroupId.x) * ${t.bn};`);
  // Per-thread fixed parts of its A and B loads.
  for (let j = 0; j < LA; j++) {
    const guard = (j + 1) * T > QA;
    p(`  let ia${j} = li + ${j * T};`);
    p(`  let okA${j} = ${guard ? `ia${j} < ${QA}` : 'true'};`);
    p(`  let ma${j} = m0 + ia${j} / ${KQ};`);
    p(`  let kqa${j} = (ia${j} % ${KQ}) * 4;`);
    if (pointwise) {
      p(`  let ba${j} = ma${j} * ${g.cin};`);
    } else {
      p(`  let img${j} = ma${j} / ${g.outH * g.outW};`);
      p(`  let pix${j} = ma${j} % ${g.outH * g.outW};`);
      p(`  let ih${j} = (pix${j} / ${g.outW}) * ${g.sh} - ${g.padTop};`);
      p(`  let iw${j} = (pix${j} % ${g.outW}) * ${g.sw} - ${g.padLeft};`);
      p(`  let ba${j} = img${j} * ${g.inH * g.inW * g.cin};`);
    }
    p(`  let inM${j} = okA${j} && ma${j} < ${M};`);
    p(`  var pa${j} = vec4<f32>(0.0);`);
  }
  for (let j = 0; j < LB; j++) {
    const guard = (j + 1) * T > QB;
    p(`  let ib${j} = li + ${j * T};`);
    p(`  let okB${j} = ${guard ? `ib${j} < ${QB}` : 'true'};`);
    p(`  let kb${j} = ib${j} / ${BNQ};`);
    p(`  let nb${j} = nt0 + (ib${j} % ${BNQ}) * 4;`);
    p(`  let inN${j} = okB${j} && nb${j} < ${N};`);
    p(`  var pb${j} = vec4<f32>(0.0);`);
  }
  for (let r = 0; r < t.tm; r++)
    for (let c = 0; c < NG; c++) p(`  var acc${r}_${c} = vec4<f32>(0.0);`);
  // Global loads of chunk `kt` into the prefetch registers.
  const load = (kt: string): void => {
    for (let j = 0; j < LA; j++) {
      p(`    {`);
      p(`      let k = ${kt} * ${t.bk} + kqa${j};`);
      p(`      pa${j} = vec4<f32>(0.0);`);
      if (pointwise) {
        p(`      if (inM${j} && k < ${K}) { pa${j} = x[(ba${j} + k) / 4]; }`);
      } else {
        p(`      let tap = k / ${g.cin};`);
        p(`      let ci = k % ${g.cin};`);
        p(`      let ih = ih${j} + tap / ${g.kw};`);
        p(`      let iw = iw${j} + tap % ${g.kw};`);
        p(
          `      if (inM${j} && k < ${K} && ih >= 0 && ih < ${g.inH} && iw >= 0 && iw < ${g.inW}) { pa${j} = x[(ba${j} + (ih * ${g.inW} + iw) * ${g.cin} + ci) / 4]; }`,
        );
      }
      p(`    }`);
    }
    for (let j = 0; j < LB; j++) {
      p(`    {`);
      p(`      let k = ${kt} * ${t.bk} + kb${j};`);
      p(`      pb${j} = vec4<f32>(0.0);`);
      p(`      if (inN${j} && k < ${K}) { pb${j} = W[(k * ${N} + nb${j}) / 4]; }`);
      p(`    }`);
    }
  };
  const store = (buf: string): void => {
    for (let j = 0; j < LA; j++) p(`    if (okA${j}) { As[${buf} * ${QA} + ia${j}] = pa${j}; }`);
    for (let j = 0; j < LB; j++) p(`    if (okB${j}) { Bs[${buf} * ${QB} + ib${j}] = pb${j}; }`);
  };
  load('0');
  store('0');
  p(`  workgroupBarrier();`);
  p(`  for (var kt = 0; kt < ${NT}; kt++) {`);
  p(`    let cur = kt & 1;`);
  p(`    if (kt + 1 < ${NT}) {`);
  load('(kt + 1)');
  p(`    }`);
  p(`    let abase = cur * ${QA} + ty * ${t.tm * KQ};`);
  p(`    let bbase = cur * ${QB} + tx;`);
  for (let kq = 0; kq < KQ; kq++) {
    for (let kk = 0; kk < 4; kk++)
      for (let c = 0; c < NG; c++)
        p(`    let b${kq}_${kk}_${c} = Bs[bbase + ${(kq * 4 + kk) * BNQ + c * (BNQ / NG)}];`);
    for (let r = 0; r < t.tm; r++) {
      p(`    {`);
      p(`      let a = As[abase + ${r * KQ + kq}];`);
      for (let c = 0; c < NG; c++) {
        const b = (kk: number): string => `b${kq}_${kk}_${c}`;
        p(
          `      acc${r}_${c} = fma(vec4<f32>(a.w), ${b(3)}, fma(vec4<f32>(a.z), ${b(2)}, fma(vec4<f32>(a.y), ${b(1)}, fma(vec4<f32>(a.x), ${b(0)}, acc${r}_${c}))));`,
        );
      }
      p(`    }`);
    }
  }
  p(`    if (kt + 1 < ${NT}) {`);
  store('(1 - cur)');
  p(`    }`);
  p(`    workgroupBarrier();`);
  p(`  }`);
  // Store: bias, ReLU, vec4 along the channels.
  for (let c = 0; c < NG; c++) {
    p(`  let n${c} = nt0 + (tx + ${c * (BNQ / NG)}) * 4;`);
    if (bias)
      p(`  var bias${c} = vec4<f32>(0.0); if (n${c} < ${N}) { bias${c} = bias[n${c} / 4]; }`);
  }
  for (let r = 0; r < t.tm; r++) {
    p(`  {`);
    p(`    let m = m0 + ty * ${t.tm} + ${r};`);
    p(`    if (m < ${M}) {`);
    for (let c = 0; c < NG; c++) {
      let v = `acc${r}_${c}`;
      if (bias) v = `(${v} + bias${c})`;
      if (relu) v = `max(${v}, vec4<f32>(0.0))`;
      p(`      if (n${c} < ${N}) { result[(m * ${N} + n${c}) / 4] = ${v}; }`);
    }
    p(`    }`);
    p(`  }`);
  }
  p(`}`);
  return L.join('\n');
}
