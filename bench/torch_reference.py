#!/usr/bin/env python3
"""PyTorch CPU reference for ppdl's training throughput.

Trains the same networks as ppdl (src/model/arch.rs) on the same IDX data, with the same batch size,
optimiser (Adam, lr 1e-3, PyTorch's default betas/eps as dfdx's) and number of threads, and reports
the seconds of every epoch (training steps only: the data is loaded into memory first, evaluation is
not timed). `ppdl bench` runs it and compares; it also runs on its own:

    python3 bench/torch_reference.py --idx-dir assets/fashion-mnist-subset --arch mlp-512-256 \
        --batch 64 --samples 6000 --epochs 4 --threads 2 --json

Architectures (d = 784 inputs for 28x28 images, 10 classes):
    mlp-256       d -> 256 -> 10
    mlp-512-256   d -> 512 -> 256 -> 10
    mlp-1024-512  d -> 1024 -> 512 -> 10
    cnn-small     conv3x3(16, pad 1) - maxpool2 - relu - conv3x3(32, pad 1) - maxpool2 - relu - fc 128 - relu - fc 10
    lenet         conv5x5(6, pad 2) - maxpool2 - relu - conv5x5(16, pad 2) - maxpool2 - relu - fc 120 - relu - fc 10
    patch-set     per pixel position (h*w vectors of 1 channel): 1 -> 128 -> 128 (relu each), mean over positions, 128 -> 10

The CNNs apply ReLU after pooling, as ppdl does: relu(maxpool(x)) = maxpool(relu(x)) (gradients
included), with a quarter of the ReLU work, so both sides run the same operations.
"""

import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time


def read_idx(path):
    """A tiny IDX reader (.gz or plain): returns (dims, bytes)."""
    for candidate in (path, path + ".gz"):
        if os.path.exists(candidate):
            opener = gzip.open if candidate.endswith(".gz") else open
            with opener(candidate, "rb") as f:
                data = f.read()
            break
    else:
        sys.exit(f"torch_reference.py: {path}[.gz] not found")
    zero, dtype, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or dtype != 0x08:
        sys.exit(f"torch_reference.py: {path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return dims, data[4 + 4 * ndim :]


def load(idx_dir, samples, torch):
    dims, pixels = read_idx(os.path.join(idx_dir, "train-images-idx3-ubyte"))
    _, labels = read_idx(os.path.join(idx_dir, "train-labels-idx1-ubyte"))
    n = min(samples, dims[0])
    h, w = dims[1], dims[2]
    x = torch.frombuffer(bytearray(pixels[: n * h * w]), dtype=torch.uint8).float().div_(255.0)
    y = torch.frombuffer(bytearray(labels[:n]), dtype=torch.uint8).long()
    return x.view(n, 1, h, w), y, h, w


def build(arch, h, w, classes, nn):
    d = h * w
    if arch == "mlp-256":
        return nn.Sequential(nn.Flatten(), nn.Linear(d, 256), nn.ReLU(), nn.Linear(256, classes))
    if arch == "mlp-512-256":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(d, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, classes)
        )
    if arch == "mlp-1024-512":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(d, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, classes)
        )
    if arch in ("cnn-small", "lenet"):
        k, pad, c1, c2, dense = (3, 1, 16, 32, 128) if arch == "cnn-small" else (5, 2, 6, 16, 120)
        h1, w1 = (h + 2 * pad - k + 1) // 2, (w + 2 * pad - k + 1) // 2
        h2, w2 = (h1 + 2 * pad - k + 1) // 2, (w1 + 2 * pad - k + 1) // 2
        return nn.Sequential(
            nn.Conv2d(1, c1, k, padding=pad),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Conv2d(c1, c2, k, padding=pad),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(c2 * h2 * w2, dense),
            nn.ReLU(),
            nn.Linear(dense, classes),
        )
    if arch == "patch-set":
        return PatchSet(1, h * w, 128, classes, nn)
    sys.exit(f"torch_reference.py: unknown --arch {arch}")


def PatchSet(channels, positions, hidden, classes, nn):
    """ppdl's Deep Sets network: the same two layers on every position's vector, the mean over positions,
    a dense head (the input is channel-last, as ppdl stores images: row-major positions of C values)."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(channels, hidden), nn.Linear(hidden, hidden)
            self.head = nn.Linear(hidden, classes)

        def forward(self, x):
            h = x.reshape(x.shape[0], positions, channels)
            h = self.fc2(self.fc1(h).relu()).relu()
            return self.head(h.mean(1))

    return Net()


# Forward passes per inference batch size: (batch, warm-up calls, timed calls), as ppdl's bench times them
# (src/overhead/bench.rs, INFERENCE_CALLS).
INFERENCE_CALLS = ((1, 20, 300), (256, 5, 40))


def inference_ms(model, x, device, torch):
    """Median milliseconds of one forward pass (no gradients, scores copied to the host) of the first
    `batch` training inputs, per batch size of INFERENCE_CALLS."""
    model.eval()
    out = {}
    with torch.no_grad():
        for batch, warmup, calls in INFERENCE_CALLS:
            xb = x[:batch].to(device)
            out[str(batch)] = median_call_seconds(warmup, calls, lambda: model(xb).cpu()) * 1e3
    model.train()
    return out


# The same counts as ppdl's peak (src/overhead/bench.rs): OpenMP's threads take a few products to settle.
WARMUP_PRODUCTS, TIMED_PRODUCTS = 3, 15


def peak_matmul_gmacs(torch, n=1024):
    """Billions of multiply-adds per second of one n^3 f32 product (PyTorch's BLAS, MKL on x86), into
    a preallocated result as ppdl's is: the median of TIMED_PRODUCTS after WARMUP_PRODUCTS."""
    a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    return n**3 / median_call_seconds(WARMUP_PRODUCTS, TIMED_PRODUCTS, lambda: torch.mm(a, b, out=c)) / 1e9


def median_call_seconds(warmup, timed, call):
    """The median seconds of one of `timed` calls of `call`, after `warmup` untimed ones (as ppdl's
    bench times its side)."""
    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(timed):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--idx-dir", required=True, help="folder with train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]")
    p.add_argument("--arch", default="mlp-512-256")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--samples", type=int, default=6000)
    p.add_argument("--epochs", type=int, default=4, help="epochs to run; the first is a warm-up")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu or cuda; on cuda the data stays in host memory and each batch is copied, as ppdl does")
    p.add_argument("--resident", action="store_true", help="on cuda: copy the whole training set to the GPU once and index it there (not what ppdl does; for comparison)")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.add_argument("--peak", action="store_true", help="only time a 1024 x 1024 x 1024 f32 matrix product (median of 15 after 3 warm-ups) and print its GMAC/s as JSON")
    args = p.parse_args()

    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    if args.peak:
        print(json.dumps({"peak_matmul_gmacs": peak_matmul_gmacs(torch), "threads": torch.get_num_threads()}))
        return
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(args.seed)
    x, y, h, w = load(args.idx_dir, args.samples, torch)
    n = x.shape[0]
    device = torch.device(args.device)
    model = build(args.arch, h, w, 10, nn).to(device)
    if args.arch.startswith("mlp"):
        x = x.view(n, h * w)
    if args.resident:
        x, y = x.to(device), y.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    epoch_seconds, epoch_cpu_seconds = [], []
    for _ in range(args.epochs):
        order = torch.randperm(n, device=x.device)
        start, cpu_start = time.perf_counter(), time.process_time()
        for i in range(0, n, args.batch):
            idx = order[i : i + args.batch]
            xb, yb = x[idx].to(device), y[idx].to(device)
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            # ppdl reads the loss and the predictions every step too.
            _ = loss.item(), logits.detach().argmax(1).cpu()
        if device.type == "cuda":
            torch.cuda.synchronize()
        epoch_seconds.append(time.perf_counter() - start)
        epoch_cpu_seconds.append(time.process_time() - cpu_start)

    inference = inference_ms(model, x, device, torch)
    timed = epoch_seconds[1:] or epoch_seconds
    timed_cpu = epoch_cpu_seconds[1:] or epoch_cpu_seconds
    result = {
        "framework": "pytorch",
        "torch_version": torch.__version__,
        "arch": args.arch,
        "batch_size": args.batch,
        "samples": n,
        "threads": torch.get_num_threads(),
        "device": args.device,
        "resident": args.resident,
        "gpu_name": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
        "epoch_seconds": epoch_seconds,
        "epoch_cpu_seconds": epoch_cpu_seconds,
        "samples_per_second": n / statistics.median(timed),
        "samples_per_cpu_second": n / statistics.median(timed_cpu),
        "inference_ms": inference,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.arch}: {result['samples_per_second']:.0f} samples/s (PyTorch {torch.__version__}, {result['threads']} threads)")


if __name__ == "__main__":
    main()
