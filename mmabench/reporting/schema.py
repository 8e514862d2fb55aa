"""What a result file of each benchmark must hold, and reading one into a checked DataFrame.

Known benchmarks name their required columns (a file without them is refused with a one-line
error naming them) and their numeric columns (a value that is not a number is refused, never
compared as text). Columns a reader uses but a file may lack are added empty, so a file holding
exactly the required columns works. Unknown benchmarks (new families as they land) pass with
their numeric-looking columns checked, so the report can group by whatever they hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmabench.core.errors import UserError


@dataclass(frozen=True)
class Schema:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()      # added empty where missing
    numeric: tuple[str, ...] = ()       # checked where present
    defaults: dict = field(default_factory=dict)


# columns every row of a known benchmark must fill: rows are grouped and labelled by them
NAMING = {"gpu_name": "the GPU it ran on ('offline' for a build without one)"}

CONTEXT = ("compute_capability", "sm_count", "git_commit", "timestamp")
_MEASURE = ("time_ms", "time_ms_min", "time_ms_max", "median_ms", "min_ms", "max_ms", "sm_clock_mhz",
            "sm_clock_mhz_min", "sm_clock_mhz_max", "power_w", "energy_j_per_launch", "rel_spread",
            "samples", "registers", "sm_count")

SCHEMAS = {
    "mma": Schema(
        required=("gpu_name", "form", "kind", "status", "tflops"),
        optional=CONTEXT + ("acc", "ab_type", "shape", "latency_cycles", "flop_per_clk_per_sm",
                            "pct_of_peak", "sm_clock_mhz", "registers", "power_w", "saturating"),
        numeric=_MEASURE + ("tflops", "latency_cycles", "flop_per_clk_per_sm", "pct_of_peak",
                            "ilp", "warps_per_sm", "warps_per_block", "blocks_per_sm",
                            "peak_at_measured_clock_tflops", "ratio_f16_over_f32",
                            "ratio_f16_over_f32_lo", "ratio_f16_over_f32_hi")),
    "attention": Schema(
        required=("gpu_name", "impl", "variant", "dim", "seq", "causal", "status", "tflops"),
        optional=CONTEXT + ("acc_s", "acc_o", "norm", "registers", "min_ms", "max_ms", "median_ms",
                            "sm_clock_mhz", "sm_clock_mhz_after", "power_w", "rel_l2_err",
                            "ratio", "ratio_lo", "ratio_hi", "within_noise"),
        numeric=_MEASURE + ("dim", "seq", "tflops", "rel_l2_err", "max_abs_err", "ratio",
                            "ratio_lo", "ratio_hi", "sm_clock_mhz_after", "sm_clock_mhz_before",
                            "x_vs_f32f32", "x_vs_f32f32_lo", "x_vs_f32f32_hi",
                            "x_vs_f32f32_same_tiles", "x_vs_f32f32_same_tiles_lo",
                            "x_vs_f32f32_same_tiles_hi", "x_vs_flash")),
    # the wgmma suite's rows: the mma columns (its twins are 'comparison' rows as mma's are)
    "wgmma": Schema(
        required=("gpu_name", "form", "kind", "status", "tflops"),
        optional=CONTEXT + ("regime", "f16_tflops", "f32_tflops", "ratio_f16_over_f32",
                            "ratio_f16_over_f32_lo", "ratio_f16_over_f32_hi"),
        numeric=_MEASURE + ("tflops", "latency_cycles", "flop_per_clk_per_sm", "f16_tflops",
                            "f32_tflops", "ratio_f16_over_f32", "ratio_f16_over_f32_lo",
                            "ratio_f16_over_f32_hi")),
    "gemm": Schema(
        required=("gpu_name", "impl", "acc", "m", "status", "tflops"),
        optional=CONTEXT + ("regime", "f16_over_f32", "f16_over_f32_lo", "f16_over_f32_hi"),
        numeric=_MEASURE + ("m", "n", "k", "tflops", "flop_per_clk_per_sm", "f16_over_f32",
                            "f16_over_f32_lo", "f16_over_f32_hi")),
    "attention-numerics": Schema(
        required=("gpu_name", "series", "point", "scheme", "rel_l2_err"),
        optional=CONTEXT + ("nonfinite", "nonfinite_all", "max_abs_qk", "max_abs_ref"),
        numeric=("rel_l2_err", "max_abs_err", "nonfinite", "nonfinite_all", "max_abs_qk",
                 "max_abs_qk_prescaled", "max_abs_ref", "max_abs_v", "dim", "seq")),
}


def describe(bench: str) -> str:
    return ", ".join(SCHEMAS[bench].required)


def read_csv(path: Path, what: str = "a CSV result file", **options):
    """A CSV file as a DataFrame, or a one-line UserError (missing, empty, not UTF-8, not CSV)
    saying it was to be `what`; `options` go to pandas.read_csv."""
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder: expected {what}")
    if not path.is_file():
        raise UserError(f"{'not a regular file' if path.exists() else 'no such file'}: {path} "
                        f"(expected {what})")
    try:
        return pd.read_csv(path, encoding="utf-8", **options)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty: expected {what}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a UTF-8 text file: expected {what}") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise UserError(f"{path} is not a readable CSV file ({str(exc).splitlines()[0]})") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None


def _to_number(frame, column: str, where: str) -> None:
    import pandas as pd

    values = frame[column]
    if values.dtype == bool:
        return
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna() & (values.astype(str).str.strip() != "")
    if bad.any():
        first = values[bad].iloc[0]
        raise UserError(f"{where}: column {column!r} holds {first!r}, not a number "
                        f"({int(bad.sum())} such rows)")
    frame[column] = numbers


def check(frame, bench: str, where: str):
    """The frame with required columns present, numeric columns as numbers, optional ones added."""
    schema = SCHEMAS.get(bench)
    frame = frame.copy()
    if schema is None:
        return frame
    missing = [c for c in schema.required if c not in frame.columns]
    if missing:
        raise UserError(f"{where} is not an {bench} result file: missing columns "
                        f"{', '.join(missing)} (needs {describe(bench)})")
    for column in schema.numeric:
        if column in frame.columns:
            _to_number(frame, column, where)
    for column in (c for c in NAMING if c in frame.columns):
        blank = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
        if blank.any():
            raise UserError(f"{where}: column {column} is empty in {int(blank.sum())} of "
                            f"{len(frame)} rows (every row names {NAMING[column]})")
    added = [c for c in schema.optional if c not in frame.columns]
    for column in added:
        frame[column] = float("nan")
    frame.attrs["added_columns"] = added      # not in the file: a bundle leaves them out
    return frame


def bench_of(path: Path, frame=None) -> str | None:
    """The benchmark a CSV file holds: its name (mma.csv -> mma), else the schema its columns fit."""
    stem = Path(path).name.removesuffix(".csv")
    if stem in SCHEMAS or frame is None:
        return stem
    for bench, schema in SCHEMAS.items():
        if set(schema.required) <= set(frame.columns):
            return bench
    return None
