"""Joins one GPU session's outputs into bench/gpu/results.json (the schema issue #19 asks for).

  python3 bench/gpu/results.py --dir OUTDIR [--dir OUTDIR2 ...] --out bench/gpu/results.json

Each --dir is what a device call wrote into $OUT (device-run.sh, browser-device.sh): tfjs-<id>.json,
torch-<arch>.json, browser.json, gpu.txt. Later directories win for the same file name. The
default extractor (inception-v3-2015-mixed8, torch arch mixed8) gives `batches`; the full
Inception-v3 (inception-v3-nsfwjs, torch arch full) gives `full_inception_v3` when it was run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os

PAIRS = {"inception-v3-2015-mixed8": "mixed8", "inception-v3-nsfwjs": "full"}


def load(dirs: list[str], name: str):
    found = None
    for d in dirs:
        p = os.path.join(d, name)
        if os.path.exists(p):
            with open(p) as f:
                found = json.load(f) if name.endswith(".json") else f.read().strip()
    return found


def rows(tj: dict, pt: dict | None) -> list[dict]:
    by = {label: {r["batch"]: r["forward"]["msPerImage"] for r in rs} for label, rs in (pt or {}).get("results", {}).items()}
    out = []
    for r in tj["results"]:
        n = r["batch"]
        row = {
            "batch": n,
            "webgpu_forward_ms_per_image": round(r["forward"]["msPerImage"], 4),
            "webgpu_app_ms_per_image": round(r["app"]["msPerImage"], 4) if r.get("app") else None,
            "torch_fp32_ms_per_image": round(by["fp32"][n], 4) if n in by.get("fp32", {}) else None,
        }
        for label in ("fp32-folded", "tf32"):
            if n in by.get(label, {}):
                row[f"torch_{label.replace('-', '_')}_ms_per_image"] = round(by[label][n], 4)
        if row["torch_fp32_ms_per_image"]:
            row["forward_over_torch_fp32"] = round(row["webgpu_forward_ms_per_image"] / row["torch_fp32_ms_per_image"], 2)
        if row["webgpu_app_ms_per_image"]:
            row["app_over_forward"] = round(row["webgpu_app_ms_per_image"] / row["webgpu_forward_ms_per_image"], 2)
        out.append(row)
    return out


def levers(tj: dict) -> list[dict]:
    return [
        {
            "name": lv["name"],
            "what": lv["what"],
            "cosine_vs_cpu": lv.get("cosineVsReference"),
            **{f"b{f['batch']}_ms_per_image": round(f["timing"]["msPerImage"], 4) for f in lv["forward"]},
        }
        for lv in tj.get("levers") or []
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", action="append", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--levers-dir", action="append", default=[], help="runs whose lever timings to report")
    args = ap.parse_args()
    result: dict = {
        "gpu": load(args.dir, "gpu.txt"),
        "date": datetime.date.today().isoformat(),
        "written_by": "bench/gpu/device-all.sh (one run on the GPU machine: Dawn in Node, PyTorch, headless Chromium)",
    }
    for ex, arch in PAIRS.items():
        tj = load(args.dir, f"tfjs-{ex}.json")
        if not tj:
            continue
        pt = load(args.dir, f"torch-{arch}.json")
        key = "batches" if arch == "mixed8" else "full_inception_v3"
        result[key] = rows(tj, pt)
        result[f"{key}_extractor"] = tj["extractor"]
        result[f"{key}_check"] = tj.get("check")
        if tj.get("preprocessProfile"):
            result[f"{key}_preprocess_profile"] = tj["preprocessProfile"]
        if tj.get("uploadMode"):
            result[f"{key}_upload_mode"] = tj["uploadMode"]
        kp = tj.get("kernelProfile")
        if kp:
            result[f"{key}_kernel_profile"] = {
                "batch": kp["batch"],
                "gpu_kernel_ms": round(kp["gpuKernelMs"], 3),
                "plain_pass_ms": round(kp["plainMs"], 3),
                "by_kernel": [{**k, "ms": round(k["ms"], 3)} for k in kp["byKernel"]],
                "by_shader": [{**k, "ms": round(k["ms"], 3)} for k in kp.get("byProgram", [])],
            }
        lv = load(args.levers_dir or args.dir, f"tfjs-{ex}.json")
        if lv and lv.get("levers"):
            result[f"{key}_levers"] = levers(lv)
        result.setdefault("adapter", tj.get("adapter"))
    br = load(args.dir, "browser.json")
    result["browser"] = [
        {"backend": r["backend"], "batch": r["batch"], "ms_per_image": round(r["ms_per_image"], 4), "what": r["what"]}
        for r in (br or {}).get("rows", [])
    ]
    if br:
        result["browser_runs"] = {b: {k: v for k, v in run.items() if k in ("gpu", "info", "skipped", "error")} for b, run in br["runs"].items()}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2)[:3000])


if __name__ == "__main__":
    main()
