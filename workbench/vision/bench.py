"""``wb bench vision``: returns inspection's precision and recall per defect type, photo search's top-1 / top-5.

Generated data (:mod:`workbench.vision.synthetic`): thresholds are calibrated (:func:`calibrate`) on one
split and scored on another (other seeds); the search indexes a generated catalogue once and queries it
with staff photos (angle, crop, light). JSON in the shared format of DESIGN.md (bench ``vision``): method
``workbench``, metrics ``precision`` / ``recall`` (level: the defect type), ``top1``, ``top5``,
``query_ms`` (mean; level ``p95`` too), ``inspect_ms``.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import cv2
import numpy as np
from tqdm import tqdm

from workbench.bench.report import BenchReport

__all__ = ["measure", "command"]


def _scores(cases, desc: str):
    from workbench.vision.garments import render
    from workbench.vision.inspection import DEFECT_TYPES, InspectionError
    from workbench.vision.inspection import measure as measure_case

    out, refused, started = [], 0, time.perf_counter()
    for c in tqdm(cases, desc=desc, unit="case"):
        accessories = [(a.kind, a.mask) for a in render(c.garment)[2]]
        try:
            out.append(measure_case(c.reference, c.photo.image, accessories).scores)
        except InspectionError:  # refused (cannot align): a person must look, counted as every defect type
            refused += 1
            out.append({kind: float("inf") for kind in DEFECT_TYPES})
    return out, 1000 * (time.perf_counter() - started) / max(len(cases), 1), refused


def measure(cases: int, catalogue: int, queries: int, seed: int) -> BenchReport:
    from workbench.vision import synthetic
    from workbench.vision.conf import load_search_settings
    from workbench.vision.garments import render
    from workbench.vision.inspection import DEFECT_TYPES, calibrate
    from workbench.vision.search import build_index, search

    cv2.setNumThreads(1)
    report = BenchReport("vision", f"c{cases}-k{catalogue}-q{queries}", seed)
    report.machine.update(opencv=cv2.__version__, cases_per_split=cases, catalogue=catalogue, queries=queries)
    calib = synthetic.inspection_cases(cases, seed)
    test = synthetic.inspection_cases(cases, seed + 1)
    calib_scores, _, _ = _scores(calib, "calibrate")
    thresholds = calibrate(calib_scores, [c.labels for c in calib])
    test_scores, inspect_ms, refused = _scores(test, "inspect")
    report.add("workbench", "refused", refused)
    for kind in DEFECT_TYPES:
        hit = np.array([s[kind] >= thresholds[kind] for s in test_scores])
        truth = np.array([kind in c.labels for c in test])
        tp = float((hit & truth).sum())
        report.add("workbench", "precision", round(tp / max(hit.sum(), 1), 4), kind)
        report.add("workbench", "recall", round(tp / max(truth.sum(), 1), 4), kind)
        report.add("workbench", "threshold", round(thresholds[kind], 5), kind)
    report.add("workbench", "inspect_ms", round(inspect_ms, 1))
    items = synthetic.catalogue(catalogue, seed)
    index = build_index({g.skc: render(g)[0] for g in items}, load_search_settings(), progress=True)
    top1 = top5 = 0
    times = []
    for skc, photo in tqdm(synthetic.search_queries(items, queries, seed + 2), desc="search", unit="query"):
        t0 = time.perf_counter()
        found = [s for s, _ in search(index, photo, 5)]
        times.append(1000 * (time.perf_counter() - t0))
        top1 += found[0] == skc
        top5 += skc in found
    report.add("workbench", "top1", round(top1 / queries, 4))
    report.add("workbench", "top5", round(top5 / queries, 4))
    report.add("workbench", "query_ms", round(float(np.mean(times)), 1))
    report.add("workbench", "query_ms", round(float(np.percentile(times, 95)), 1), "p95")
    return report


@click.command("vision")
@click.option("--cases", type=click.IntRange(8, 100_000), default=400, show_default=True,
              help="Returns per split (calibration, test): clean, stain, hole, missing accessory in turn.")
@click.option("--catalogue", type=click.IntRange(5, 100_000), default=2000, show_default=True,
              help="SKCs in the generated catalogue the photo search indexes.")
@click.option("--queries", type=click.IntRange(1, 100_000), default=300, show_default=True,
              help="Staff photos of catalogue items (angle, crop, light) the search answers.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Where to write the JSON results.")
def command(cases: int, catalogue: int, queries: int, seed: int, json_path: Path | None) -> None:
    """Returns inspection (precision / recall per defect type) and photo search (top-1, top-5, ms per query).

    \b
    Examples:
      wb bench vision
      wb bench vision --cases 40 --catalogue 50 --queries 20 --json bench-results/vision-small.json
    """
    report = measure(cases, catalogue, queries, seed)
    report.print_table()
    click.echo(f"JSON: {report.write_json(json_path)}")
