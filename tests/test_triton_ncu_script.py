"""scripts/triton_ncu.py without a GPU: its reading of ncu's raw CSV (a header row, a units row,
one row per kernel) into the condensed columns the README quotes."""

import pytest
from conftest import load_script


@pytest.fixture(scope="module")
def ncu_script():
    return load_script("triton_ncu")


RAW = '''==PROF== Connected to process 1
"ID","Kernel Name","gpu__time_duration.sum","gpc__cycles_elapsed.avg.per_second","sm__throughput.avg.pct_of_peak_sustained_elapsed","smsp__issue_active.avg.pct_of_peak_sustained_active","sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active","launch__registers_per_thread","smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio","smsp__average_warps_issue_stalled_wait_per_issue_active.ratio"
"","","ns","hz","%","%","%","register/thread","inst","inst"
"0","_gemm_kernel","1,632,960","1,572,691,002.84","79.18","19.79","82.26","196","1.52","1.57"
"1","_gemm_kernel","1,921,100","1,780,060,938.00","59.40","14.20","61.41","126","8.69","1.10"
'''


def test_raw_rows_are_read_past_ncus_own_lines_and_the_units_row(ncu_script):
    rows = ncu_script.parse_raw(RAW)
    assert [r["ID"] for r in rows] == ["0", "1"]


def test_condensed_columns_and_the_top_stall_reasons(ncu_script):
    from mmabench.gemm import triton_gemm

    raw = ncu_script.parse_raw(RAW)
    units = ncu_script.parse_units(RAW)
    assert units["gpu__time_duration.sum"] == "ns"
    row = ncu_script.condensed(raw[1], ("nn", triton_gemm.CONFIGS[0], "f16"), "none", units)
    assert row["kernel"] == "triton-nn 128x256x64 w8 s3" and row["acc"] == "f16"
    assert row["clock_control"] == "none" and round(row["sm_clock_mhz"]) == 1780
    assert row["duration_us"] == pytest.approx(1921.1) and row["tensor_pipe_active_pct"] == 61.41
    assert row["stall_barrier"] == 8.69 and row["top_stalls"].startswith("barrier 8.69, wait 1.10")
    assert len(ncu_script.cases()) == 2 * len(triton_gemm.CONFIGS) * 2


def test_a_profile_without_the_table_is_refused(ncu_script):
    with pytest.raises(RuntimeError, match="no raw metrics table"):
        ncu_script.parse_raw("==PROF== nothing profiled\n")


def test_units_are_read_not_assumed(ncu_script):
    """An ncu that prints the duration in microseconds and the clock in GHz reads the same."""
    from mmabench.gemm import triton_gemm

    raw = ncu_script.parse_raw(RAW)[1]
    raw = dict(raw, **{"gpu__time_duration.sum": "1,921.1", "gpc__cycles_elapsed.avg.per_second": "1.78006"})
    units = dict(ncu_script.parse_units(RAW), **{"gpu__time_duration.sum": "usecond",
                                                 "gpc__cycles_elapsed.avg.per_second": "ghz"})
    row = ncu_script.condensed(raw, ("nn", triton_gemm.CONFIGS[0], "f16"), "none", units)
    assert row["duration_us"] == pytest.approx(1921.1) and round(row["sm_clock_mhz"]) == 1780
    with pytest.raises(RuntimeError, match="in 'fortnight'"):
        ncu_script.condensed(raw, ("nn", triton_gemm.CONFIGS[0], "f16"), "none",
                             dict(units, **{"gpu__time_duration.sum": "fortnight"}))
