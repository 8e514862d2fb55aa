"""On a GPU: the offline report for the native architecture equals what the driver loads."""

import pytest

from mmabench import hardware


@pytest.mark.gpu
def test_offline_report_matches_the_loaded_kernels(tmp_path, monkeypatch):
    reason = hardware.unavailable_reason()
    if reason:
        pytest.skip(f"no GPU: {reason}")
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    from mmabench.compiler.crosscheck import crosscheck

    checks = crosscheck()
    assert checks, "no kernel was built for the GPU's architecture"
    bad = [(c["kernel"], c["message"]) for c in checks if c["status"] != "ok"]
    assert not bad, bad
    # the deliberately spilling kernel really has local memory on the device
    (spill,) = [c for c in checks if c["kernel"] == "demo.spill.cap32"]
    assert spill["local_bytes_driver"] > 0 and spill["regs_driver"] <= 32
