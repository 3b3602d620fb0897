"""Joins the TF.js (run.ts) and PyTorch (torch_ref.py) JSON files into one table.

  python3 bench/gpu/report.py tfjs.json torch.json [--gpu "name, driver"] [--md out.md]

Prints the table and, with --md, writes it as Markdown (for bench/gpu/RESULTS.md and the README).
The ratio is TF.js-WebGPU time per image divided by PyTorch-fp32 time per image: how many times
slower the browser stack is than native float32 on the same card.
"""

from __future__ import annotations

import argparse
import json


def cell(t: dict | None) -> str:
    if not t:
        return "n/a"
    ips = t["imagesPerSec"]
    return f"{t['msPerImage']:.2f} ms · {ips:.0f}/s" if ips >= 10 else f"{t['msPerImage']:.2f} ms · {ips:.2f}/s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("tfjs")
    ap.add_argument("torch")
    ap.add_argument("--gpu", default="")
    ap.add_argument("--md")
    args = ap.parse_args()
    with open(args.tfjs) as f:
        tj = json.load(f)
    with open(args.torch) as f:
        pt = json.load(f)

    by_batch_pt = {label: {r["batch"]: r["forward"] for r in rows} for label, rows in pt["results"].items()}
    adapter = tj.get("adapter") or {}
    card = args.gpu or pt.get("device", "?")
    flags = [f.split("=", 1)[1] for f in tj.get("dawnFlags", []) if f.startswith("backend=")]
    dawn_backend = {"vulkan": "Vulkan", "opengles": "OpenGL ES (EGL)"}.get(flags[0], flags[0]) if flags else "Vulkan"
    header = [
        "batch",
        "TF.js WebGPU, forward",
        "TF.js WebGPU, Glimpse embed()",
        "PyTorch fp32",
        "PyTorch TF32",
        "WebGPU ÷ PyTorch fp32",
    ]
    rows = []
    for r in tj["results"]:
        n = r["batch"]
        fp32 = by_batch_pt.get("fp32", {}).get(n)
        tf32 = by_batch_pt.get("tf32", {}).get(n)
        ratio = f"{r['forward']['msPerImage'] / fp32['msPerImage']:.1f}× slower" if fp32 else "n/a"
        rows.append([str(n), cell(r["forward"]), cell(r.get("app")), cell(fp32), cell(tf32), ratio])

    check = tj.get("check")
    notes = [
        f"Card: {card}. WebGPU adapter as Dawn reports it: "
        f"{adapter.get('vendor', '?')} / {adapter.get('architecture', '?')} / {adapter.get('description', '?')}.",
        f"TF.js {tj['tfjs']} (tfjs-backend-webgpu) in Node {tj['node']} with Dawn's WebGPU for Node (npm `webgpu`) on {dawn_backend}; "
        f"extractor {tj['extractor']} (Inception-v3, {tj['inputSize']}×{tj['inputSize']}, 2048-d embedding), "
        f"the app's own loadExtractor/specs/preprocess code.",
        f"PyTorch {pt['torch']}, torchvision {pt['torchvision']} `inception_v3` (random weights, fc = Identity), "
        "cudnn.benchmark on; fp32 = TF32 off, TF32 = PyTorch's default for convolutions.",
        "Cells: median ms per image · images per second. Forward = a preprocessed batch already on the GPU "
        "through the network, then the [n, 2048] embeddings read back (both stacks). Glimpse embed() = from "
        f"{tj.get('appImage', 'RGBA')} pixel buffers: upload, crop, resize, scaling, forward, read back.",
    ]
    if check:
        notes.append(
            f"Correctness: WebGPU embedding of a fixed image vs TF.js {check['against']} backend: "
            f"cosine {check['cosine']:.6f}, max |diff| {check['maxAbsDiff']:.1e}."
        )

    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    line = lambda cols: "| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths)) + " |"
    table = [line(header), "| " + " | ".join("-" * w for w in widths) + " |", *(line(r) for r in rows)]
    print("\n".join(table))
    print()
    for n in notes:
        print(f"- {n}")
    if args.md:
        with open(args.md, "w") as f:
            f.write("\n".join(table) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n")


if __name__ == "__main__":
    main()
