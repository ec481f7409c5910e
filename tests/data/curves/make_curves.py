"""Writes the crafted results files next to this script: one per TRN diagnosis, plus a healthy run."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy,full_valid_loss"


def noise(s: int) -> float:
    """Deterministic step-to-step wobble of +-0.04."""
    return 0.04 * math.sin(s * 1.7)


def write(name: str, steps: int, train: Callable[[int], float], valid: Callable[[int], float] | None = None,
          every: int = 10, epoch_ends: dict[int, float] | None = None) -> None:
    rows = [HEADER]
    for s in range(1, steps + 1):
        t = train(s)
        acc = max(0.0, min(1.0, 1.0 - t / 2.5))
        v = f"{valid(s):.4f}" if valid is not None and s % every == 0 else ""
        va = f"{max(0.0, min(1.0, 1.0 - valid(s) / 2.5)):.3f}" if v else ""
        full = f"{epoch_ends[s]:.4f}" if epoch_ends and s in epoch_ends else ""
        rows.append(f"{s},{t:.4f},{acc:.3f},{v},{va},{full}")
    (HERE / f"{name}.csv").write_text("\n".join(rows) + "\n", "utf-8")


def main() -> None:
    # healthy: 150 steps over 3 epochs, both losses fall and level off
    write("healthy", 150, lambda s: 0.4 + 1.6 * math.exp(-s / 25) + noise(s), lambda s: 0.5 + 1.5 * math.exp(-s / 25),
          epoch_ends={50: 0.62, 100: 0.52, 150: 0.50})
    # TRN001: training loss flat around 2.0
    write("flat", 100, lambda s: 2.0 + noise(s), lambda s: 2.1)
    # TRN002: 5 epochs of 30 steps; full validation loss lowest at the end of epoch 2
    write("overfit", 150, lambda s: 0.05 + 1.9 * math.exp(-s / 30) + noise(s) / 4, lambda s: 0.45 + 0.002 * abs(s - 60),
          epoch_ends={30: 0.60, 60: 0.45, 90: 0.50, 120: 0.60, 150: 0.72})
    # TRN003: a healthy curve with two spikes
    write("spikes", 100, lambda s: 3.5 if s in (40, 75) else 0.6 + 1.4 * math.exp(-s / 20) + noise(s), lambda s: 0.7)
    # TRN004: falls to 0.5 by step 30, then climbs to 2.5
    write("diverge", 100, lambda s: 2.0 - 1.5 * s / 30 if s <= 30 else 0.5 + 2.0 * (s - 30) / 70, lambda s: 0.6 + 0.01 * s)
    # TRN005: training loss near zero from step 12 of 90
    write("memorise", 90, lambda s: 0.005 + 1.5 * math.exp(-s / 2), lambda s: 0.9)
    # TRN006: 10 steps only
    write("short", 10, lambda s: 2.0 - 0.1 * s, lambda s: 2.0, every=5)


if __name__ == "__main__":
    main()
