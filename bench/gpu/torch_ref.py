"""Native reference for bench/gpu: torchvision's Inception-v3 in float32 on the same GPU.

Random weights (the arithmetic, and so the time, is the same as with trained ones). The classifier
is replaced by Identity so the output is the 2048-wide pooled embedding, as in Glimpse. Each timed
call is model(x) on an input already on the GPU plus copying the [n, 2048] output back to the host,
which mirrors TF.js's embedTensor(x) + await data().

Two settings, both with cudnn.benchmark on (it picks the fastest algorithms for fixed shapes):
  fp32  TF32 off for convolutions and matmuls: true float32 arithmetic, like WebGPU's f32 shaders.
  tf32  PyTorch's defaults for convolutions (cudnn.allow_tf32=True): what most PyTorch code gets.

  fp32-folded  fp32 with every batch norm folded into its convolution's weights and bias (what
               Glimpse's inception-v3-2015-mixed8 weights already are): conv + bias + ReLU.

--arch full    the whole network to the 2048-d pool (Glimpse's inception-v3-nsfwjs architecture).
--arch mixed8  cut after Mixed_7a (TF's mixed_8) + global average pool: 1280-d, the architecture of
               Glimpse's default extractor inception-v3-2015-mixed8.

  python3 bench/gpu/torch_ref.py --arch mixed8 --batches 1,8,32 --json out.json
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


def build(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True)
    model.fc = torch.nn.Identity()
    if arch == "full":
        return model
    names = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
             "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
             "Mixed_6e", "Mixed_7a"]
    return torch.nn.Sequential(*[getattr(model, n) for n in names], torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())


def fold_bn(model: torch.nn.Module) -> torch.nn.Module:
    """Every BasicConv2d's batch norm folded into its convolution (bias added), eval mode."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for m in model.modules():
        if hasattr(m, "conv") and hasattr(m, "bn") and isinstance(m.bn, torch.nn.BatchNorm2d):
            m.conv = fuse_conv_bn_eval(m.conv, m.bn)
            m.bn = torch.nn.Identity()
    return model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--min-iters", type=int, default=20)
    ap.add_argument("--min-ms", type=float, default=2000)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--json")
    ap.add_argument("--arch", choices=["full", "mixed8"], default="full")
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",") if b]

    dev = torch.device(args.device)
    model = build(args.arch).to(dev).eval()
    folded = fold_bn(build(args.arch).eval()).to(dev).eval()
    torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"[torch] torch {torch.__version__}, torchvision {torchvision.__version__}, device {name}", flush=True)

    settings = {"fp32": (False, model), "tf32": (True, model), "fp32-folded": (False, folded)}
    results: dict[str, list[dict]] = {}
    for label, (allow_tf32, net) in settings.items():
        torch.backends.cudnn.allow_tf32 = allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = allow_tf32
        results[label] = []
        for n in batches:
            x = torch.rand(n, 3, 299, 299, device=dev)

            def forward() -> None:
                with torch.inference_mode():
                    y = net(x)
                y.cpu()  # waits for the GPU, like TF.js's await data()

            with torch.inference_mode():
                out_shape = list(net(x).shape)
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
                    "arch": args.arch,
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
