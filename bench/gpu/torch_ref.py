"""Native reference for bench/gpu: torchvision's Inception-v3 in float32 on the same GPU.

Random weights (the arithmetic, and so the time, is the same as with trained ones). The classifier
is replaced by Identity so the output is the 2048-wide pooled embedding, as in Glimpse. Each timed
call is model(x) on an input already on the GPU plus copying the [n, 2048] output back to the host,
which mirrors TF.js's embedTensor(x) + await data().

Two settings, both with cudnn.benchmark on (it picks the fastest algorithms for fixed shapes):
  fp32  TF32 off for convolutions and matmuls: true float32 arithmetic, like WebGPU's f32 shaders.
  tf32  PyTorch's defaults for convolutions (cudnn.allow_tf32=True): what most PyTorch code gets.

  python3 bench/gpu/torch_ref.py --batches 1,8,32 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torchvision


def summarise(samples_ms: list[float], batch: int) -> dict:
    median = statistics.median(samples_ms)
    return {
        "iters": len(samples_ms),
        "medianMs": median,
        "meanMs": statistics.fmean(samples_ms),
        "minMs": min(samples_ms),
        "maxMs": max(samples_ms),
        "msPerImage": median / batch,
        "imagesPerSec": batch * 1000.0 / median,
    }


def measure(fn, warmup: int, min_iters: int, min_ms: float) -> list[float]:
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < min_iters or (time.perf_counter() - start) * 1000 < min_ms:
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
        if len(samples) >= 1000:
            break
    return samples


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--min-iters", type=int, default=20)
    ap.add_argument("--min-ms", type=float, default=2000)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--json")
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",") if b]

    dev = torch.device(args.device)
    torch.manual_seed(0)
    model = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True)
    model.fc = torch.nn.Identity()
    model = model.to(dev).eval()
    torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"[torch] torch {torch.__version__}, torchvision {torchvision.__version__}, device {name}", flush=True)

    settings = {"fp32": False, "tf32": True}
    results: dict[str, list[dict]] = {}
    for label, allow_tf32 in settings.items():
        torch.backends.cudnn.allow_tf32 = allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = allow_tf32
        results[label] = []
        for n in batches:
            x = torch.rand(n, 3, 299, 299, device=dev)

            def forward() -> None:
                with torch.inference_mode():
                    y = model(x)
                y.cpu()  # waits for the GPU, like TF.js's await data()

            with torch.inference_mode():
                out_shape = list(model(x).shape)
            t = summarise(measure(forward, args.warmup, args.min_iters, args.min_ms), n)
            results[label].append({"batch": n, "forward": t})
            print(
                f"[torch] {label} batch {n:2d}: {t['msPerImage']:.3f} ms/image, {t['imagesPerSec']:.1f} images/s "
                f"(median {t['medianMs']:.3f} ms/batch over {t['iters']})"
                + f"; output {out_shape}",
                flush=True,
            )

    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "tool": "torch",
                    "torch": torch.__version__,
                    "torchvision": torchvision.__version__,
                    "device": name,
                    "cudnnBenchmark": True,
                    "results": results,
                },
                f,
                indent=2,
            )
        print(f"[torch] wrote {args.json}", flush=True)


if __name__ == "__main__":
    main()
