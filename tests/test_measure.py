"""The measurement layer without a GPU: stopping rules, batching, interleaving, ratios, NVML
fallbacks. A fake timer stands in for CUDA events so that every rule is checked exactly."""

import itertools
import random

import pytest

from mmabench.core.errors import UserError
from mmabench.measure import Policy, interleaved, measure, orders
from mmabench.measure import conditions, nvml, stats


class FakeTimer:
    """Each launch 'takes' what `duration(name, i)` says; records the order of launches."""

    def __init__(self, duration):
        self.duration = duration
        self.log = []
        self.count = itertools.count()
        self.flushes = 0

    def run(self, launch, groups, per_group, cold):
        name = launch()
        out = []
        for _ in range(groups):
            self.flushes += cold
            ms = [self.duration(name, next(self.count)) for _ in range(per_group)]
            self.log += [name] * per_group
            out.append(sum(ms) / per_group)
        return out


class FakeDevice:
    """An NVML device the Sampler can poll; subclasses say what each reading is."""

    def sm_clock_mhz(self):
        return 1500

    def power_w(self):
        return 400.0

    def power_instant_w(self):
        return None

    def power_limit_w(self):
        return 700.0

    def temperature_c(self):
        return 60

    def event_reasons(self):
        return 0

    def energy_mj(self):
        return None


class NoSampler:
    def start(self):
        return self

    def stop(self):
        pass

    def conditions(self):
        return conditions.Conditions()


def test_steady_timings_stop_at_min_samples_and_converge():
    timer = FakeTimer(lambda name, i: 2.0)
    m = measure(lambda: "a", Policy(min_samples=5), timer=timer, sampler=NoSampler())
    assert m.converged and m.samples == 5 and m.median_ms == 2.0 and m.noise == 0


def test_noisy_timings_run_to_the_sample_limit_and_say_not_converged():
    rng = random.Random(1)
    timer = FakeTimer(lambda name, i: 1.0 + rng.random())          # +-30 % noise
    policy = Policy(min_samples=5, max_samples=40, rel_error=0.001, budget_s=100)
    m = measure(lambda: "a", policy, timer=timer, sampler=NoSampler())
    assert not m.converged and m.samples == 40
    assert 0.1 < m.noise < 0.5 and m.min_ms < m.median_ms < m.max_ms


def test_moderate_noise_converges_once_the_standard_error_is_small():
    rng = random.Random(2)
    timer = FakeTimer(lambda name, i: 1.0 + 0.02 * rng.random())
    m = measure(lambda: "a", Policy(rel_error=0.002, budget_s=100), timer=timer, sampler=NoSampler())
    assert m.converged and stats.rel_stderr(m.samples_ms) <= 0.002


def test_short_launches_are_grouped_in_batch_mode_but_not_in_cold_mode():
    timer = FakeTimer(lambda name, i: 0.01)
    m = measure(lambda: "a", Policy(min_sample_ms=0.2), timer=timer, sampler=NoSampler())
    assert m.launches_per_sample == 20 and m.mode == "batch" and timer.flushes == 0
    cold = measure(lambda: "a", Policy(mode="cold"), timer=FakeTimer(lambda n, i: 0.01),
                   sampler=NoSampler())
    assert cold.launches_per_sample == 1 and cold.fields()["timing_mode"] == "cold"


def test_cold_mode_flushes_before_every_timed_sample():
    timer = FakeTimer(lambda name, i: 1.0)
    m = measure(lambda: "a", Policy(mode="cold", min_samples=7), timer=timer, sampler=NoSampler())
    assert timer.flushes == m.samples == 7


def test_kernel_clock_wins_over_nvml_and_says_so():
    m = measure(lambda: "a", Policy(), timer=FakeTimer(lambda n, i: 1.0), sampler=NoSampler(),
                clock=lambda: 1755.0)
    f = m.fields()
    assert f["sm_clock_mhz"] == 1755.0 and f["sm_clock_source"].startswith("kernel")
    for key in ("time_ms", "time_ms_min", "time_ms_max", "noise_pct", "samples", "power_w",
                "throttle", "throttled", "timing_mode", "converged"):
        assert key in f


def test_bad_policy_is_a_user_error():
    with pytest.raises(UserError, match="batch, cold"):
        Policy(mode="warm")
    with pytest.raises(UserError):
        Policy(min_samples=0)


def test_orders_rotate_and_alternate():
    rounds = orders(["a", "b", "c"], 6)
    assert rounds[0] == ["a", "b", "c"] and rounds[1] == ["c", "b", "a"]
    assert orders(["a", "b"], 4) == [["a", "b"], ["b", "a"], ["b", "a"], ["a", "b"]]
    firsts = [r[0] for r in rounds]
    lasts = [r[-1] for r in rounds]
    assert set(firsts) == set(lasts) == {"a", "b", "c"}
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)


def test_interleaving_cancels_a_drift_that_sequential_timing_would_report():
    # The GPU slows down steadily (clock drifting down); A and B are truly identical.
    timer = FakeTimer(lambda name, i: 1.0 + 1e-3 * i)
    policy = Policy(rounds=8, samples_per_round=3, warmup_ms=0)
    result = interleaved({"a": lambda: "a", "b": lambda: "b"}, policy, timer=timer, cuda_device=0)
    b = result.ratio("b", "a")
    assert abs(b.median - 1.0) < 0.01
    assert b.within_noise
    assert "within noise" in b.describe()
    assert result.ratio("a", "a").rounds == [1.0] * 8
    assert result.measurements["b"].samples == 8 * 3
    # sequential: all of A, then all of B -> B reads slower by the drift
    seq_a = measure(lambda: "a", Policy(min_samples=24, max_samples=24, rel_error=0),
                    timer=timer, sampler=NoSampler())
    seq_b = measure(lambda: "b", Policy(min_samples=24, max_samples=24, rel_error=0),
                    timer=timer, sampler=NoSampler())
    assert seq_b.median_ms / seq_a.median_ms > 1.02


def test_a_real_difference_is_reported_with_a_range_that_excludes_one():
    rng = random.Random(3)
    timer = FakeTimer(lambda name, i: (1.0 if name == "fast" else 1.1) * (1 + 0.005 * rng.random()))
    result = interleaved({"slow": lambda: "slow", "fast": lambda: "fast"},
                         Policy(rounds=5, warmup_ms=0), timer=timer)
    r = result.ratio("fast", "slow")
    assert 1.08 < r.median < 1.12 and not r.within_noise and r.lo > 1.0
    assert r.fields("x_vs_base")["x_vs_base_rounds"] == 5


def test_describe_ratio():
    assert stats.describe_ratio(1.07, 1.05, 1.09) == "1.07x (1.05-1.09)"
    assert stats.describe_ratio(1.01, 0.99, 1.02).endswith("within noise")


def test_throttle_reason_names_and_flag():
    c = conditions.Conditions(reasons_mask=0x4 | 0x1000)
    assert c.throttled and "sw_power_cap" in c.throttle
    assert not conditions.Conditions(reasons_mask=0x2).throttled
    assert nvml.reason_names(0x40 | 0x20) == "sw_thermal+hw_thermal"


def test_sampler_without_nvml_gives_empty_conditions(monkeypatch):
    monkeypatch.setattr(nvml, "device", lambda i=0: None)
    s = conditions.Sampler(0)
    with s:
        pass
    c = s.conditions()
    assert c.nvml_samples == 0 and c.sm_clock_mhz is None and c.power_w is None
    assert not c.throttled


def test_sampler_takes_power_from_the_energy_counter_steps(monkeypatch):
    """A counter that moves in 20 ms steps of 6 J (300 W): the slope between the steps seen
    inside the region is right, where (end - start) / wall would carry a partial step."""
    import time as _time

    class Dev(FakeDevice):
        def power_w(self):
            return 999.0

        def event_reasons(self):
            return 0x4 | 0x1

        def energy_mj(self):
            return int(_time.perf_counter() / 0.02) * 6000

    monkeypatch.setattr(nvml, "device", lambda i=0: Dev())
    s = conditions.Sampler(0, poll_s=0.001)
    s.start()
    _time.sleep(0.35)
    s.stop()
    c = s.conditions()
    assert c.power_source == "energy counter" and c.power_w == pytest.approx(300, rel=0.08)
    assert c.sm_clock_mhz == 1500 and c.throttle == "sw_power_cap"   # idle bit dropped


def test_short_interleaved_regions_never_use_the_energy_counter(monkeypatch):
    """Blocks of a few ms would catch the counter's steps at random: power then comes from the
    readings, labelled as such, however long the regions add up to."""
    class Dev(FakeDevice):
        e = 0

        def energy_mj(self):
            Dev.e += 50_000
            return Dev.e

    monkeypatch.setattr(nvml, "device", lambda i=0: Dev())
    s = conditions.Sampler(0, poll_s=0.001)
    for _ in range(100):
        s.start()
        s.stop()
    s.wall += 10.0
    c = s.conditions()
    assert c.power_source.startswith("power readings") and c.power_w == 400.0 and c.energy_j is None


def test_short_regions_take_power_from_instant_samples_of_their_own_work(monkeypatch):
    """With NVML_FI_DEV_POWER_INSTANT, a burst block's power is the mean of the samples taken
    while it ran, not the driver's one-second average (which holds the neighbours' draw)."""
    class Dev(FakeDevice):
        def power_instant_w(self):
            return 612.0

    monkeypatch.setattr(nvml, "device", lambda i=0: Dev())
    s = conditions.Sampler(0, poll_s=0.001)
    for _ in range(3):
        s.start()
        s.stop()
    c = s.conditions()
    assert c.power_w == 612.0 and c.power_source.startswith("instant power samples")
    assert c.power_w_instant == 612.0 and c.power_limit_w == 700.0 and not c.power_above_limit


def test_a_power_above_the_board_limit_is_flagged_not_taken_as_fact(monkeypatch):
    class Dev(FakeDevice):
        def power_instant_w(self):
            return 760.0      # what the energy slope of short blocks read on a 700 W H200

    monkeypatch.setattr(nvml, "device", lambda i=0: Dev())
    with conditions.Sampler(0, poll_s=0.001) as s:
        pass
    c = s.conditions()
    assert c.power_above_limit and c.fields()["power_above_limit"] is True
    assert not conditions.Conditions(power_w=730.0, power_limit_w=700.0).power_above_limit


def test_sustained_regime_times_one_long_block_per_contender_and_round_after_a_settle():
    timer = FakeTimer(lambda name, i: 2.0)          # 2 ms per launch
    policy = Policy(regime="sustained", rounds=5, warmup_ms=0, settle_ms=1000, block_ms=200)
    result = interleaved({"a": lambda: "a", "b": lambda: "b", "c": lambda: "c"}, policy,
                         timer=timer, cuda_device=0)
    for name, m in result.measurements.items():
        assert m.samples == 5 and m.launches_per_sample == 110      # 5 blocks of 200 ms + 10%
        f = m.fields()
        assert f["regime"] == "sustained" and f["sample_ms"] == pytest.approx(220.0)
        assert ">= 200 ms of back-to-back launches" in f["regime_detail"]
        assert "1000 ms of discarded settle" in f["regime_detail"]
    # before the timed blocks: 2 warm-up launches and 1000 ms / 3 of settle launches apiece
    assert len(timer.log) == 3 * (2 + 167) + 15 * 110
    blocks = timer.log[-1650::110]                    # the contender of each timed block
    rounds = [blocks[i:i + 3] for i in range(0, 15, 3)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)
    assert all(r != q for r, q in zip(rounds, rounds[1:]))    # the order changes every round


def test_each_contender_reports_the_conditions_of_its_own_blocks(monkeypatch):
    """The device draws 300 W while 'a' runs and 650 W while 'b' runs: each row shows its own."""
    running = {"now": None}

    class Dev(FakeDevice):
        def power_instant_w(self):
            return {"a": 300.0, "b": 650.0}.get(running["now"], 100.0)

    monkeypatch.setattr(nvml, "device", lambda i=0: Dev())

    class Timer(FakeTimer):
        def run(self, launch, groups, per_group, cold):
            running["now"] = launch()
            import time as _time
            _time.sleep(0.003)         # the sampler thread reads at least once per block
            return super().run(launch, groups, per_group, cold)

    policy = Policy(rounds=4, warmup_ms=0, samples_per_round=2)
    result = interleaved({"a": lambda: "a", "b": lambda: "b"}, policy,
                         timer=Timer(lambda n, i: 1.0), cuda_device=0)
    assert result.measurements["a"].power_w == pytest.approx(300.0)
    assert result.measurements["b"].power_w == pytest.approx(650.0)
    assert result.measurements["a"].fields()["regime"] == "burst"
    assert "the GPU idles between blocks" in result.measurements["a"].regime_detail


def test_a_quick_policy_in_the_sustained_regime_runs_five_rounds():
    from mmabench.measure import in_regime

    quick = Policy(rounds=3)
    assert in_regime(quick, None).rounds == 5 and in_regime(quick, "burst").rounds == 3
    assert in_regime(quick, None, cold=True).regime == "burst"


def test_regimes_refuse_what_they_cannot_measure():
    with pytest.raises(UserError, match="sustained, burst"):
        Policy(regime="steady")
    with pytest.raises(UserError, match="burst"):
        Policy(regime="sustained", mode="cold")
    with pytest.raises(UserError, match=">= 5 rounds"):
        Policy(regime="sustained", rounds=3)


def test_twins_are_compared_interleaved_then_alone_and_both_checked(monkeypatch):
    from mmabench.measure import compare_twins

    monkeypatch.setattr(nvml, "device", lambda i=0: None)

    class Clock:
        resets = 0

        def reset(self):
            Clock.resets += 1

        def __call__(self):
            return 1500.0

    class Twin:
        flops = 10**9

        def __init__(self, name):
            self.name, self.clock, self.checked = name, Clock(), 0

        def __call__(self):
            return self.name

        def check(self):
            self.checked += 1

        def fields(self, m):
            return {"tflops": self.flops / (m.median_ms * 1e-3) / 1e12, "sm_clock_mhz": m.sm_clock_mhz,
                    "flop_per_clk_per_sm": 1.0}

    timer = FakeTimer(lambda name, i: 1.0 if name == "f16" else 1.05)
    twins = {"f32": Twin("f32"), "f16": Twin("f16")}
    row = compare_twins(twins, Policy(rounds=4, warmup_ms=0), timer=timer)
    assert row["ratio_f16_over_f32"] == pytest.approx(1.05) and row["ratio_f16_over_f32_rounds"] == 4
    assert not row["ratio_f16_over_f32_within_noise"]
    assert row["f16_tflops"] > row["f32_tflops"] and row["f16_sm_clock_mhz"] == 1500.0
    assert row["regime"] == "burst" and "f16_power_w" in row and "f32_pj_per_flop" in row
    assert all(t.checked == 1 for t in twins.values())
    assert "f16" in timer.log and "f32" in timer.log


# ---- NVML through a fake pynvml (conftest.fake_nvml): the calls, the decoding, no driver ----

def test_nvml_readings_come_from_the_calls_with_pynvml_constants(fake_nvml):
    import pynvml

    clocks = {pynvml.NVML_CLOCK_SM: 1755, pynvml.NVML_CLOCK_MEM: 2619}
    fake_nvml(nvmlDeviceGetHandleByIndex=lambda i: f"h{i}",
              nvmlDeviceGetClockInfo=lambda h, kind: clocks[kind],
              nvmlDeviceGetPowerUsage=lambda h: 612_345,
              nvmlDeviceGetTotalEnergyConsumption=lambda h: 98_765_432,
              nvmlDeviceGetTemperature=lambda h, sensor: {pynvml.NVML_TEMPERATURE_GPU: 61}[sensor],
              nvmlDeviceGetCurrentClocksEventReasons=lambda h: pynvml.nvmlClocksEventReasonSwPowerCap)
    d = nvml.device(1)
    assert d.handle == "h1"
    assert d.sm_clock_mhz() == 1755 and d.power_w() == 612.345 and d.energy_mj() == 98_765_432
    assert d.temperature_c() == 61 and nvml.reason_names(d.event_reasons()) == "sw_power_cap"
    assert d.power_limit_w() is None          # a call the GPU does not support reads None


def test_nvml_event_reasons_fall_back_to_the_older_call(fake_nvml):
    import pynvml

    fake_nvml(nvmlDeviceGetHandleByIndex=lambda i: "h",
              nvmlDeviceGetCurrentClocksThrottleReasons=lambda h: 0x40 | 0x1)
    assert nvml.device(0).event_reasons() == 0x41
    assert nvml.reason_names(0x41) == "gpu_idle+hw_thermal"
    assert nvml.THROTTLE_MASK & pynvml.nvmlClocksEventReasonHwThermalSlowdown
    assert not nvml.THROTTLE_MASK & (nvml.IDLE | pynvml.nvmlClocksEventReasonApplicationsClocksSetting)


def test_nvml_under_cuda_visible_devices_never_guesses_by_index(fake_nvml, monkeypatch):
    fake_nvml(nvmlDeviceGetHandleByIndex=lambda i: "wrong GPU")   # by bus id: not found
    monkeypatch.setattr(nvml, "_pci_bus_id", lambda i: "00000000:18:00.0")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert nvml.device(0) is None


def test_no_nvml_library_means_no_device_and_empty_conditions(fake_nvml):
    import pynvml

    def missing():
        raise pynvml.NVMLError_LibraryNotFound()
    fake_nvml(nvmlInit=missing, nvmlDeviceGetHandleByIndex=lambda i: "h")
    assert nvml.device(0) is None and nvml.gpus() is None
    assert nvml.driver_version() == "" and nvml.snapshot() == ""
    with conditions.Sampler(0) as s:
        pass
    c = s.conditions()
    assert c.nvml_samples == 0 and c.power_w is None and c.throttle == "" and not c.throttled


def test_uninitialised_nvml_reads_none_and_the_sampler_copes(fake_nvml):
    import pynvml

    def uninitialised(*args):
        raise pynvml.NVMLError_Uninitialized()
    fake_nvml(nvmlDeviceGetHandleByIndex=lambda i: "h", nvmlDeviceGetClockInfo=uninitialised,
              nvmlDeviceGetTotalEnergyConsumption=uninitialised)
    d = nvml.device(0)
    assert d is not None and d.sm_clock_mhz() is None and d.event_reasons() is None
    s = conditions.Sampler(0, poll_s=0.001)
    with s:
        pass
    c = s.conditions()
    assert c.nvml_samples == 0 and c.sm_clock_mhz is None and c.energy_j is None


def test_nvml_snapshot_is_readable_text_with_na_where_nvml_cannot_answer(fake_nvml):
    import pynvml

    def clock(h, kind):
        if kind == pynvml.NVML_CLOCK_VIDEO:
            raise pynvml.NVMLError_NotSupported()
        return {pynvml.NVML_CLOCK_SM: 1755, pynvml.NVML_CLOCK_GRAPHICS: 1755, pynvml.NVML_CLOCK_MEM: 2619}[kind]
    fake_nvml(nvmlDeviceGetHandleByIndex=lambda i: "h",
              nvmlSystemGetDriverVersion=lambda: "580.65.06",
              nvmlDeviceGetName=lambda h: "NVIDIA H200",
              nvmlDeviceGetClockInfo=clock,
              nvmlDeviceGetMaxClockInfo=lambda h, kind: 1980,
              nvmlDeviceGetPowerUsage=lambda h: 612_345,
              nvmlDeviceGetEnforcedPowerLimit=lambda h: 700_000,
              nvmlDeviceGetEccMode=lambda h: [pynvml.NVML_FEATURE_ENABLED, pynvml.NVML_FEATURE_DISABLED],
              nvmlDeviceGetCurrentClocksEventReasons=lambda h: 0x4 | 0x40)
    lines = dict(line.split(" : ", 1) for line in nvml.snapshot(0).splitlines())
    lines = {k.strip(): v for k, v in lines.items()}
    assert lines["Driver version"] == "580.65.06" and lines["Product name"] == "NVIDIA H200"
    assert lines["SM clock (current / max)"] == "1755 / 1980 MHz"
    assert lines["Video clock (current / max)"] == "N/A / 1980 MHz"
    assert lines["Power draw"] == "612.35 W" and lines["Enforced power limit"] == "700.00 W"
    assert lines["ECC mode (current, pending)"] == "Enabled, Disabled"
    assert lines["Clock event reasons"] == "0x0000000000000044 (sw_power_cap+hw_thermal)"
    assert lines["Persistence mode"] == "N/A" and lines["GPU temperature"] == "N/A"


def test_nvml_lists_the_gpus_in_its_order_and_skips_one_it_cannot_open(fake_nvml):
    import types

    import pynvml

    def handle(i):
        if i == 1:
            raise pynvml.NVMLError_NoPermission()
        return f"h{i}"
    fake_nvml(nvmlDeviceGetCount=lambda: 3, nvmlDeviceGetHandleByIndex=handle,
              nvmlDeviceGetUUID=lambda h: f"GPU-{h}", nvmlDeviceGetName=lambda h: "NVIDIA H200",
              nvmlDeviceGetPciInfo=lambda h: types.SimpleNamespace(busId=f"00000000:{h}:00.0"))
    assert nvml.gpus() == [
        {"index": 0, "uuid": "GPU-h0", "name": "NVIDIA H200", "pci_bus_id": "00000000:h0:00.0"},
        {"index": 2, "uuid": "GPU-h2", "name": "NVIDIA H200", "pci_bus_id": "00000000:h2:00.0"}]


def test_latency_chain_gives_cycles_per_instruction_and_the_last_launchs_clock(monkeypatch):
    """measure.latency on a stand-in chain whose first warp's %clock64 span is 3 cycles per
    instruction (the second warp's stamps are slower; the clock is the median over warps)."""
    import numpy as np

    from mmabench.measure import chain as chain_mod
    from mmabench.measure.kernel_clock import KernelClock

    monkeypatch.setattr(nvml, "device", lambda i=0: None)

    class HostClock(KernelClock):           # the ring of stamp slots in host memory
        def __init__(self, warps):
            self.stamps = np.zeros((4, warps, 4), dtype=np.uint64)
            self._views = [self.stamps[i] for i in range(4)]
            self.slots, self.next, self.used = 4, 0, 0

    class Chain:
        iters, launches = 100, 0

        def __init__(self):
            self.clock = HostClock(2)

        def __call__(self):
            Chain.launches += 1
            t0 = 10**6 * Chain.launches
            cycles = 3 * 8 * self.iters                  # 8 instructions per trip
            self.clock.for_launch()[:] = [[5, 5 + cycles, t0, t0 + cycles // 2],      # 2000 MHz
                                          [7, 7 + 2 * cycles, t0, t0 + cycles]]      # 2000 MHz

    row = chain_mod.latency(Chain(), 8, Policy(warmup_ms=0, min_samples=5, max_samples=30,
                                               rel_error=0.001, budget_s=0.5))
    assert list(row)[:8] == ["latency_cycles", "latency_cycles_min", "latency_cycles_max", "iters",
                             "samples", "noise_pct", "converged", "timing_mode"]
    assert list(row)[-2:] == ["sm_clock_mhz", "sm_clock_source"] and "nvml_samples" in row
    assert row["latency_cycles"] == row["latency_cycles_min"] == row["latency_cycles_max"] == 3.0
    assert row["iters"] == 100 and row["samples"] == 5 and row["converged"]
    assert row["timing_mode"] == "in-kernel cycles" and row["sm_clock_mhz"] == 2000.0
    assert row["sm_clock_source"] == "kernel clock64/globaltimer"


def test_host_time_per_call_syncs_only_between_loops():
    from mmabench.measure.host import host_us_per_call

    log = []
    med, lo, hi = host_us_per_call(lambda: log.append("call"), 50, 3, lambda: log.append("sync"))
    assert log == ["call", "sync"] + (["call"] * 50 + ["sync"]) * 3
    assert 0 < lo <= med <= hi


@pytest.mark.gpu
def test_energy_counter_and_instant_power_samples_agree_over_a_long_region():
    """The two power readings of a region, cross-checked on one steady 2 s load (an fp16
    matmul): where both exist they agree within 10%, and neither reads above the board limit
    +5%."""
    cupy = pytest.importorskip("cupy")
    from mmabench.measure.loop import EventTimer

    a = cupy.random.default_rng(1).standard_normal((8192, 8192), dtype=cupy.float32).astype(cupy.float16)
    out = cupy.empty_like(a)
    timer = EventTimer()

    def launch():
        cupy.matmul(a, a, out=out)

    timer.run(launch, 1, 20, False)               # cuBLAS handle, heuristics: not timed
    est = timer.run(launch, 1, 50, False)[0]
    with conditions.Sampler(0) as sampler:
        timer.run(launch, 1, max(1, int(2000 / est)), False)
    c = sampler.conditions()
    assert c.power_w is not None and c.power_w > 50 and not c.power_above_limit, c
    assert c.wall_s > 1.5, c
    if c.power_w_energy is not None and c.power_w_instant is not None:
        print(f"2 s fp16 matmul: instant samples {c.power_w_instant:.0f} W, "
              f"energy counter {c.power_w_energy:.0f} W")
        assert abs(c.power_w_energy - c.power_w_instant) <= 0.10 * c.power_w_instant, c
