"""Achieved GFLOP/s of the from-scratch numpy MLP, against plain numpy matmuls.

    .venv/bin/python benchmarks/mlp_gflops.py [--depth 2] [--width 512]
        [--batch-size 128] [--steps 300] [--threads T]

Counting: a matrix product of (N, D) by (D, M) is 2 N D M floating-point
operations. One training step of an MLP does, per Linear layer, one product
forward (x @ W) and two backward (x.T @ dout for dW, dout @ W.T for dx): 3
products of 2 N D M flops. (``course.compare.numpy_train_step`` skips the
first layer's dx, which nothing needs, so it executes fewer flops than it is
credited with here; ``course.nn``'s own backward executes them all.)

The reference is the same sequence of float32 matrix products, with the same
shapes and transposes, run back to back by numpy with nothing else in
between: the most this code could reach on this machine (the BLAS library's
speed for these sizes). Elementwise work (ReLU, softmax, the SGD update) and
Python overhead make up the difference.

The load average is printed before and after.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from course import nn as scratch  # noqa: E402
from course.compare import _limit_threads, build_mlp, train_step  # noqa: E402
from course.data import load_mnist  # noqa: E402


def load_average():
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def step_flops(sizes, N):
    """Credited flops of one training step: 3 products of 2 N D M per layer."""
    return sum(3 * 2 * N * d * m for d, m in zip(sizes[:-1], sizes[1:]))


def executed_flops(sizes, N):
    """Flops numpy_train_step really executes: no dx for the first layer."""
    return step_flops(sizes, N) - 2 * N * sizes[0] * sizes[1]


def time_training(model, X, y, batch_size, steps, fast):
    optimizer = scratch.SGD(model, 0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    done, seconds = 0, 0.0
    while done < steps:
        for X_batch, y_batch in scratch.batches(X, y, batch_size, rng):
            if len(X_batch) < batch_size:
                continue
            start = time.perf_counter()
            train_step(model, X_batch, y_batch, optimizer, fast)
            seconds += time.perf_counter() - start
            done += 1
            if done == steps:
                break
    return seconds


def time_matmuls(sizes, N, steps):
    """The step's matrix products alone, same shapes and transposes."""
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((d, m), dtype=np.float32)
          for d, m in zip(sizes[:-1], sizes[1:])]
    acts = [rng.standard_normal((N, d), dtype=np.float32) for d in sizes]
    start = time.perf_counter()
    for _ in range(steps):
        for i, W in enumerate(Ws):
            acts[i] @ W  # forward
        for i in range(len(Ws) - 1, -1, -1):
            acts[i].T @ acts[i + 1]  # dW = x.T @ dout
            acts[i + 1] @ Ws[i].T  # dx = dout @ W.T
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=300, help="timed training steps")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (default: the library's)")
    args = parser.parse_args(argv)

    X, y = load_mnist("train", flatten=True, normalize=True)
    sizes = [784] + [args.width] * args.depth + [10]
    N = args.batch_size
    flops = step_flops(sizes, N)
    print(f"MLP {'-'.join(map(str, sizes))}, batch {N}, float32: "
          f"{flops / 1e6:.1f} MFLOP credited per step; threads: "
          f"{args.threads or 'library default'}; {load_average()}")
    with _limit_threads(args.threads):
        time_matmuls(sizes, N, 20)  # warm-up
        model = build_mlp("numpy", args.depth, args.width)
        time_training(model, X, y, N, 20, True)  # warm-up
        rows = []
        for label, seconds in [
            ("plain numpy matmuls (the limit)", time_matmuls(sizes, N, args.steps)),
            ("numpy MLP, numpy_train_step", time_training(
                build_mlp("numpy", args.depth, args.width), X, y, N, args.steps, True)),
            ("numpy MLP, course.nn forward/backward", time_training(
                build_mlp("numpy", args.depth, args.width), X, y, N, args.steps,
                False)),
        ]:
            rows.append((label, seconds, flops * args.steps / seconds / 1e9))
    limit = rows[0][2]
    print(f"{args.steps} steps ({load_average()}):")
    for label, seconds, gflops in rows:
        print(f"  {label:<40} {seconds:7.2f} s  {gflops:7.1f} GFLOP/s  "
              f"{100 * gflops / limit:5.1f}% of the limit")
    fast_seconds = rows[1][1]
    print(f"  (numpy_train_step executes {executed_flops(sizes, N) / 1e6:.1f} of the "
          f"{flops / 1e6:.1f} MFLOP per step: "
          f"{executed_flops(sizes, N) * args.steps / fast_seconds / 1e9:.1f} GFLOP/s "
          "executed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
