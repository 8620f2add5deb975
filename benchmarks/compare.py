"""Speed of two source trees, measured in turns: old, new, old, new... for several rounds.

Each tree runs its own copy of each benchmark script with ``PYTHONPATH`` set to the tree, so
``import tinygrad_mlp`` loads that tree's package (checked before the first round).  The script's
figure for tinygrad_mlp is read from its output; the table gives the medians over the rounds,
the change and whether it stays within 3%.  The control column is the median of the other
figure the script prints (micrograd, PyTorch or the numpy floor, the same code in both trees):
when it moves as much as ours, the machine moved.

    git worktree add /tmp/wt_base 9855b31
    git worktree add /tmp/wt_new HEAD
    python benchmarks/compare.py --old /tmp/wt_base --new /tmp/wt_new --rounds 5
    python benchmarks/compare.py --old /tmp/wt_base --new /tmp/wt_new --rounds 2 \\
        --env TINYGRAD_MLP_ENGINE=reference scalar_engine moons_step

``--env NAME=VALUE`` is set for the new tree only.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

# benchmark -> (unit, pattern of our figure, pattern of the control figure); several matches
# of our figure (scalar_engine prints one per round of its own) count as their minimum.
FIGURES: dict[str, tuple[str, str, str]] = {
    "scalar_engine": ("ms/step", r"tinygrad_mlp\s+([\d.]+) ms per step", r"micrograd\s+([\d.]+) ms"),
    "tiny_ops": ("us/iter", r"tinygrad_mlp:\s+([\d.]+) us per iteration", r"PyTorch CPU :\s+([\d.]+) us"),
    "moons_step": ("us/step", r"tinygrad_mlp:\s+([\d.]+) us per step", r"numpy floor :\s+([\d.]+) us"),
    "digits_mlp": ("ms/epoch", r"tinygrad_mlp\s+([\d.]+) ms per epoch",
                   r"numpy floor\s+([\d.]+) ms per epoch"),
}
LIMIT = 3.0  # percent


def tree_env(tree: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))
    return env


def check_import(tree: Path, env: dict[str, str]) -> None:
    """Fail unless ``import tinygrad_mlp`` resolves inside ``tree`` (not the editable install)."""
    out = subprocess.run([sys.executable, "-c", "import tinygrad_mlp; print(tinygrad_mlp.__file__)"],
                         env=env, cwd=tree / "benchmarks", capture_output=True, text=True, check=True)
    path = Path(out.stdout.strip()).resolve()
    if not path.is_relative_to(tree.resolve()):
        sys.exit(f"{tree}: tinygrad_mlp imports from {path}, not from the tree")


def run(tree: Path, bench: str, env: dict[str, str]) -> tuple[float, float | None]:
    """Our figure and the control figure from one run of ``tree``'s copy of ``bench``."""
    out = subprocess.run([sys.executable, str(tree / "benchmarks" / f"{bench}.py")], env=env,
                         cwd=tree, capture_output=True, text=True, check=True).stdout
    _, ours, control = FIGURES[bench]
    figures = [float(x) for x in re.findall(ours, out)]
    if not figures:
        sys.exit(f"{tree}/{bench}: no figure in the output:\n{out}")
    controls = [float(x) for x in re.findall(control, out)]
    return min(figures), (min(controls) if controls else None)


def median_text(xs: list[float | None]) -> str:
    vals = [x for x in xs if x is not None]
    return f"{statistics.median(vals):.2f}" if vals else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="checkout of the baseline")
    parser.add_argument("--new", type=Path, required=True, help="checkout of the change")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment variable for the new tree only (repeatable)")
    parser.add_argument("benchmarks", nargs="*", default=list(FIGURES), help=", ".join(FIGURES))
    args = parser.parse_args()
    if unknown := set(args.benchmarks) - set(FIGURES):
        parser.error(f"unknown benchmarks {sorted(unknown)}; known: {', '.join(FIGURES)}")
    if args.rounds < 1 or any("=" not in item for item in args.env):
        parser.error("--rounds must be at least 1 and --env must be NAME=VALUE")
    extra = dict(item.split("=", 1) for item in args.env)
    trees = {"old": (args.old, tree_env(args.old, {})), "new": (args.new, tree_env(args.new, extra))}
    for tree, env in trees.values():
        check_import(tree, env)

    results = {(b, side): ([], []) for b in args.benchmarks for side in trees}
    for r in range(1, args.rounds + 1):
        for bench in args.benchmarks:
            for side, (tree, env) in trees.items():
                ours, control = run(tree, bench, env)
                results[bench, side][0].append(ours)
                results[bench, side][1].append(control)
                print(f"round {r} {bench:13s} {side}: {ours:8.2f}  (control {control})", flush=True)

    label = " ".join(args.env)
    print(f"\nold = {args.old}, new = {args.new}{' with ' + label if label else ''}, "
          f"medians of {args.rounds} rounds")
    print(f"{'benchmark':13s} {'unit':8s} {'old':>9s} {'new':>9s} {'change':>8s}  within {LIMIT:g}%"
          f"   control old/new")
    for bench in args.benchmarks:
        old, new = (statistics.median(results[bench, side][0]) for side in trees)
        c_old, c_new = (median_text(results[bench, side][1]) for side in trees)
        change = (new / old - 1) * 100
        ok = "yes" if change <= LIMIT else "NO"
        print(f"{bench:13s} {FIGURES[bench][0]:8s} {old:9.2f} {new:9.2f} {change:+7.1f}%  {ok:9s}"
              f"   {c_old} / {c_new}")


if __name__ == "__main__":
    main()
