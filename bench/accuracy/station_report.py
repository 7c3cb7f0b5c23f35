"""Markdown tables of bench/results/station_baselines.json, one per window (docs/station_baselines.md)."""

from __future__ import annotations

from pathlib import Path

COLUMNS = [
    ("fit s", "fit_s", "{:.1f}"),
    ("WAPE %", "wape_pct", "{:.2f}"),
    ("MASE mean", "mase_mean", "{:.3f}"),
    ("MASE median", "mase_median", "{:.3f}"),
    ("MASE p90", "mase_p90", "{:.3f}"),
    ("cov80 %", "cov80_pct", "{:.1f}"),
    ("cov95 %", "cov95_pct", "{:.1f}"),
    ("width80 %", "width80_pct", "{:.1f}"),
    ("width95 %", "width95_pct", "{:.1f}"),
]


def window_table(entry: dict) -> str:
    """One markdown table: a row per method, the best WAPE and mean MASE in bold."""
    rows = [
        "| method | " + " | ".join(c[0] for c in COLUMNS) + " | load 1-min before/after |",
        "|---" * (len(COLUMNS) + 2) + "|",
    ]
    done = {m: r for m, r in entry["methods"].items() if r.get("status") == "ok"}
    best = {key: min((r["scores"][key] for r in done.values()), default=None) for key in ("wape_pct", "mase_mean")}
    for method, result in entry["methods"].items():
        cells = []
        for _, key, fmt in COLUMNS:
            if result.get("status") != "ok":
                cells.append(f"{result['status']} after {result['wall_s']:.0f} s" if key == "fit_s" else "-")
                continue
            value = result["fit_s"] if key == "fit_s" else result["scores"].get(key)
            text = "-" if value is None else fmt.format(value)
            cells.append(f"**{text}**" if key in best and value == best[key] else text)
        load = f"{result['load_before']:.1f} / {result['load_after']:.1f}"
        rows.append(f"| {method} | " + " | ".join(cells) + f" | {load} |")
    return "\n".join(rows)


BEGIN, END = "<!-- tables: python -m bench.accuracy.station_baselines --report -->", "<!-- end of tables -->"


def write_report(results: dict, path: Path) -> None:
    """Replace the text between BEGIN and END in `path` (the prose around it is hand-written)."""
    parts = [BEGIN, f"Machine: {results['machine']}.\n"]
    for name, entry in results["runs"].items():
        parts.append(
            f"### {name}\n\norigin {entry['origin']} (last history point), horizon {entry['horizon']}, "
            f"{entry['series']} series scored ({entry['dropped']} dropped: no history or no actual in the horizon)\n"
        )
        parts.append(window_table(entry) + "\n")
    parts.append(END)
    text = path.read_text() if path.exists() else f"{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    path.write_text(head + "\n".join(parts) + rest.split(END, 1)[1])
