"""``python -m benchmarks``: run the reconcile benchmarks and print their table (see docs/benchmarks.md).

``python -m benchmarks events``: the event-driven latency benchmark, push beside polling.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.report import render_markdown, render_text
from benchmarks.runner import BASELINE_MAX_N, Settings, run_all


def _sizes(text: str) -> list[int]:
    """``1k,10k,100k`` or ``1000 10000`` as integers."""
    out = []
    for part in text.replace(",", " ").split():
        part = part.strip().lower()
        scale = {"k": 1_000, "m": 1_000_000}.get(part[-1], 1)
        out.append(int(float(part.rstrip("km")) * scale))
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, print the table, write the JSON and Markdown results.

    ``python -m benchmarks events ...`` runs the event-latency benchmark instead (push beside
    polling on a multi-process Airflow; see :mod:`benchmarks.event_latency`).
    """
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["events"]:
        from benchmarks.event_latency import main as events_main

        return events_main(args_in[1:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--sizes", type=_sizes, default=[1_000, 10_000, 100_000], help="N values (1k,10k,100k)"
    )
    parser.add_argument("--latency-ms", type=float, default=20.0, help="delay of every sandbox response")
    parser.add_argument("--change-rate", type=float, default=0.1, help="share of users needing a change")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the sandbox company")
    parser.add_argument(
        "--baseline-max", type=int, default=BASELINE_MAX_N, help="largest N for the per-user baseline"
    )
    parser.add_argument("--baseline-concurrency", type=int, default=8, help="template flows side by side")
    parser.add_argument("--parse-repetitions", type=int, default=7, help="fresh-process parses per DAG file")
    parser.add_argument("--dags", type=Path, nargs="*", help="DAG files to parse (default: dags/*.py)")
    parser.add_argument(
        "--output", type=Path, default=Path("benchmarks/results"), help="folder of the JSON/Markdown results"
    )
    parser.add_argument("--name", default="latest", help="results file name (without extension)")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="let children compile every module (PYTHONDONTWRITEBYTECODE as in the environment)",
    )
    args = parser.parse_args(argv)
    settings = Settings(
        sizes=args.sizes,
        latency=args.latency_ms / 1000,
        change_rate=args.change_rate,
        seed=args.seed,
        baseline_max=args.baseline_max,
        baseline_concurrency=args.baseline_concurrency,
        parse_repetitions=args.parse_repetitions,
    )
    if args.no_bytecode_cache:
        settings.bytecode_cache = None
    if args.dags is not None:
        settings.dags = args.dags
    document = run_all(settings, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(render_text(document))
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / f"{args.name}.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    (args.output / f"{args.name}.md").write_text(render_markdown(document))
    print(f"\nResults: {args.output / (args.name + '.json')} and .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
