// Entry of the Dawn bundle of `npm run eval` (bench/gpu/build-eval.mjs): the same scripts/eval.ts,
// with a browser-like navigator.gpu from dawn.node so that `--backend webgpu` runs TF.js's WebGPU
// backend in Node. The import order matters: dawn-setup before the backend (it registers itself
// only if navigator.gpu exists when it is evaluated), the backend before eval (which starts at once).
import './dawn-setup';
import '@tensorflow/tfjs-backend-webgpu';
import '../../scripts/eval';
