"""The restructuring of the package changed no kernel and no figure.

`tests/data/regs_golden.csv.gz` holds every row of `python -m mmabench regs --all` (2,592 kernel x
architecture rows) made at commit 207451a, before the code was reorganised, with ptxas, nvdisasm
and NVRTC 13.5, less the columns that name the run (version, commit, time). The PTX of every
kernel is compared by its hash for every row; whole rows for a sample of kernels, assembled
again here. Rows depend on the toolchain's release as well as on our code: with another release
the row comparison is skipped (the PTX of the hand-written templates does not depend on it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from mmabench import hardware
from mmabench.compiler import registry, report, toolchain

GOLDEN = Path(__file__).parent / "data" / "regs_golden.csv.gz"
GOLDEN_RELEASE = "13.5"
# Families whose PTX is rendered by mmabench itself (no NVRTC in between).
TEMPLATE_FAMILIES = ("mma", "mma_fp8", "wgmma", "demo")
# One kernel of each family: hand-written PTX (mma, FP8 mma, wgmma, the spill demo) and CUDA
# C++ through NVRTC (attention, the wgmma GEMM).
SAMPLE = ("mma.m16n8k16.f16.acc_f16.thr", "mma.m16n8k32.e4m3.acc_f32.thr",
          "wgmma.m64n256k16.f16.acc_f32.ss.sw128.thr", "demo.spill.cap32",
          "attn_d128_sf32_of16_delayed_*", "gemm.wgmma.pipelined.acc_f16")


@pytest.fixture(scope="module")
def golden() -> pd.DataFrame:
    frame = pd.read_csv(GOLDEN, dtype=str, keep_default_na=False)
    assert len(frame) == 2592 and frame["status"].isin(["ok", "n/a"]).all()
    return frame


def test_every_kernel_and_architecture_is_still_there(golden):
    now = {(s.name, a) for s in registry.all_kernels() for a in hardware.known_archs()}
    assert set(zip(golden["kernel"], golden["arch"])) <= now


def test_rendered_ptx_of_every_template_kernel_is_byte_identical(golden):
    ok = golden[(golden["status"] == "ok") & golden["family"].isin(TEMPLATE_FAMILIES)]
    specs = {s.name: s for s in registry.all_kernels(list(TEMPLATE_FAMILIES))}
    assert len(ok) > 450
    changed = [f"{r.kernel}@{r.target}" for r in ok.itertuples()
               if hashlib.sha256(specs[r.kernel].ptx(r.target).encode()).hexdigest()[:16]
               != r.ptx_sha256]
    assert not changed, f"{len(changed)} kernels render other PTX, e.g. {changed[:3]}"


def test_regs_rows_of_a_sample_are_identical(golden):
    releases = {toolchain.tool_version("ptxas"), toolchain.nvrtc_version(),
                toolchain.tool_version("nvdisasm")}
    if releases != {GOLDEN_RELEASE}:
        pytest.skip(f"toolchain {sorted(releases)} is not the golden rows' {GOLDEN_RELEASE}")
    rows = report.compile_report(list(SAMPLE), ["sm_80", "sm_90"], all_kernels=True)
    assert len(rows) >= 8
    # The run's own columns (versions, commit, time) are added when the rows are saved.
    assert set(golden.columns) - set(rows[0]) == {"ptxas_version"}
    keyed = golden.set_index(["kernel", "arch"])
    for row in rows:
        want = keyed.loc[(row["kernel"], row["arch"])]
        for column, expected in want.items():
            if column in row:
                got = _text(row[column])
                assert got == expected or _same_number(got, expected), (
                    row["kernel"], row["arch"], column, got, expected)


def _text(value) -> str:
    """A row value as its CSV cell: '' for None and NaN."""
    return "" if value is None or value != value else str(value)


def _same_number(a: str, b: str) -> bool:
    """'25' and '25.0' (a row value and its CSV text) are the same figure."""
    try:
        return float(a) == float(b)
    except ValueError:
        return False
