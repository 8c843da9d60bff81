"""Seconds per epoch: the from-scratch numpy MLP against the same MLP in PyTorch.

    .venv/bin/python benchmarks/mlp_epoch_ratio.py [--depth 2] [--width 512]
        [--batch-size 128] [--epochs 3] [--subset N] [--threads T]

Both networks have the same architecture (784-512-512-10 by default), float32
weights and inputs, the same batch size, SGD with momentum, and the same
batch order. Epochs alternate (numpy, PyTorch, numpy, ...) so that both see
the same machine load; the median epoch time of each is compared. The numpy
network is timed twice: with ``course.compare.numpy_train_step`` (the step the
comparison uses) and with ``course.nn``'s own layer-by-layer ``forward`` /
``backward`` (``course.nn``, unchanged). The goal is a ratio of at most 1.5.

The load average is printed before and after: on a shared machine other
work changes the numbers more than any code change here.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from course import nn as scratch  # noqa: E402
from course.compare import _limit_threads, build_mlp, train_step  # noqa: E402
from course.data import load_mnist  # noqa: E402


def load_average():
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def numpy_epoch(model, optimizer, X, y, batch_size, rng, fast):
    start = time.perf_counter()
    for X_batch, y_batch in scratch.batches(X, y, batch_size, rng):
        train_step(model, X_batch, y_batch, optimizer, fast)
    return time.perf_counter() - start


def torch_epoch(model, optimizer, X, y, batch_size, rng):
    start = time.perf_counter()
    order = torch.from_numpy(rng.permutation(len(X)))
    for first in range(0, len(X), batch_size):
        idx = order[first : first + batch_size]
        loss = F.cross_entropy(model(X[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depth", type=int, default=2,
                        help="hidden layers (default 2)")
    parser.add_argument("--width", type=int, default=512,
                        help="hidden units (default 512)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3,
                        help="timed epochs per network")
    parser.add_argument("--subset", type=int, default=None,
                        help="first N training images (default: all 60,000)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS and PyTorch threads (default: the libraries')")
    args = parser.parse_args(argv)

    X, y = load_mnist("train", flatten=True, normalize=True)
    X, y = np.ascontiguousarray(X[: args.subset]), y[: args.subset]
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    sizes = "-".join(map(str, [784] + [args.width] * args.depth + [10]))

    with _limit_threads(args.threads):
        print(f"MLP {sizes}, batch {args.batch_size}, float32, {len(X):,} images per "
              f"epoch, threads: {args.threads or 'library default'} (torch "
              f"{torch.get_num_threads()}), {load_average()}", flush=True)
        nets = {
            name: build_mlp(family, args.depth, args.width)
            for name, family in [("numpy (numpy_train_step)", "numpy"),
                                 ("numpy (course.nn forward/backward)", "numpy"),
                                 ("torch", "torch")]
        }
        optimizers = {
            name: (torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
                   if name == "torch" else scratch.SGD(net, 0.01, momentum=0.9))
            for name, net in nets.items()
        }
        rng = np.random.default_rng(0)
        times = {name: [] for name in nets}
        for epoch in range(args.epochs + 1):  # epoch 0 warms up caches and allocators
            for name, net in nets.items():
                if name == "torch":
                    seconds = torch_epoch(net, optimizers[name], Xt, yt,
                                          args.batch_size, rng)
                else:
                    seconds = numpy_epoch(net, optimizers[name], X, y,
                                          args.batch_size, rng,
                                          fast="numpy_train_step" in name)
                if epoch:
                    times[name].append(seconds)
                print(f"  epoch {epoch}{' (warm-up)' if not epoch else ''}: {name}: "
                      f"{seconds:.2f} s", flush=True)

    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"median seconds per epoch over {args.epochs} epochs ({load_average()}):")
    for name, seconds in medians.items():
        print(f"  {name:<36} {seconds:7.2f} s")
    for name in list(nets)[:2]:
        ratio = medians[name] / medians["torch"]
        verdict = "within" if ratio <= 1.5 else "OVER"
        print(f"ratio {name} / torch = {ratio:.2f} ({verdict} the 1.5 target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
