"""Run every benchmark and print a table; results also go to ``bench/results/`` (git-ignored)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import city_scale, extract, extract_servers, file_drop, gate_checks, geojson, rest, workbook

BENCHMARKS = {
    "extract": extract.run,
    "extract_servers": extract_servers.run,
    "file_drop": file_drop.run,
    "workbook": workbook.run,
    "rest": rest.run,
    "geojson": geojson.run,
    "gate_checks": gate_checks.run,
    "city_scale": city_scale.run,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_260_000, help="rows per benchmark (default: scale 0.1)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each approach, interleaved (default 3)")
    parser.add_argument("names", nargs="*", default=list(BENCHMARKS))
    args = parser.parse_args()
    console, results = Console(width=120), []
    for name in args.names:
        console.print(f"[bold]{name}[/bold] on {args.rows:,} rows, {args.rounds} rounds …")
        results += BENCHMARKS[name](args.rows, args.rounds)
    columns = ("benchmark", "approach", "rows/s", "seconds (median)", "runs s", "CPU s", "+ imports s",
               "peak RSS MiB", "vs alternative")  # fmt: skip
    table = Table(*columns, title="citybase bench")
    for r in results:
        table.add_row(
            r["benchmark"], r["approach"], f"{r['rows_per_s']:,.0f}", f"{r['seconds']:.2f}",
            " ".join(f"{s:.2f}" for s in r["runs_seconds"]), f"{r['cpu_seconds']:.2f}",
            f"{r.get('import_seconds', 0):.2f}",
            f"{r['peak_rss_mib']:.0f}", r.get("speedup", ""),
        )  # fmt: skip
    console.print(table)
    out = Path(__file__).parent / "results" / f"{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    console.print(f"results: {out}")


if __name__ == "__main__":
    main()
