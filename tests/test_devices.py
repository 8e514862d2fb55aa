"""`--devices`: parsing, the child command line, merging per-GPU folders, the comparison, a
failing or interrupted GPU (fake children on the CPU), and one real GPU run."""

import json
import signal
import subprocess
import sys
import textwrap
import types

import pandas as pd
import pytest

from mmabench import cli, devices, record
from mmabench.core.errors import UserError
from mmabench.devices import inventory, launch, merge, summary
from mmabench.devices.inventory import Device
from mmabench.core.errors import NoGPU, UserError
from mmabench.core.options import Mode, Modes

GPUS = [Device(0, "GPU-aaaa0000", "Fake H100", "00000000:18:00.0"),
        Device(1, "GPU-bbbb1111", "Fake H100", "00000000:2A:00.0"),
        Device(2, "GPU-cccc2222", "Fake H100", "00000000:3A:00.0")]


# ---- parsing -------------------------------------------------------------------------------

def test_all_and_lists_pick_the_devices_in_the_order_given():
    assert inventory.resolve("all", GPUS) == GPUS
    assert inventory.resolve(" ALL ", GPUS) == GPUS
    assert [d.index for d in inventory.resolve("2,0", GPUS)] == [2, 0]
    assert [d.index for d in inventory.resolve("1", GPUS)] == [1]


@pytest.mark.parametrize("text, why", [
    ("", "empty"), (" ", "empty"), ("0,,1", "empty"), ("0,", "empty"),
    ("a", "'a' is not a GPU index"), ("-1", "'-1' is not"), ("1.5", "'1.5' is not"),
    ("1,1", "GPU 1 given twice"), ("3", "no GPU 3"), ("0,7", "no GPU 7"),
])
def test_bad_devices_value_is_one_line_naming_what_is_accepted(text, why):
    with pytest.raises(UserError) as exc:
        inventory.resolve(text, GPUS)
    msg = str(exc.value)
    assert why in msg and "accepted: 'all' or comma-separated GPU indices" in msg and "\n" not in msg


def test_no_gpu_at_all_is_a_clear_error_but_syntax_is_checked_first():
    with pytest.raises(NoGPU):
        inventory.resolve("all", [])
    with pytest.raises(UserError, match="not a GPU index"):
        inventory.resolve("x", [])


def test_nvml_listing_and_cuda_visible_devices(fake_nvml, monkeypatch):
    buses = ["00000000:18:00.0", "00000000:2A:00.0"]
    fake_nvml(nvmlDeviceGetCount=lambda: 2, nvmlDeviceGetHandleByIndex=lambda i: i,
              nvmlDeviceGetUUID=lambda h: ["GPU-aaaa0000", "GPU-bbbb1111"][h],
              nvmlDeviceGetName=lambda h: "NVIDIA H100 80GB HBM3",
              nvmlDeviceGetPciInfo=lambda h: types.SimpleNamespace(busId=buses[h]))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-bbbb")
    assert inventory.list_gpus() == [Device(1, "GPU-bbbb1111", "NVIDIA H100 80GB HBM3", buses[1])]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert [(d.index, d.uuid, d.name) for d in inventory.list_gpus()] == [
        (0, "GPU-aaaa0000", "NVIDIA H100 80GB HBM3"), (1, "GPU-bbbb1111", "NVIDIA H100 80GB HBM3")]
    assert inventory.visible(GPUS, None) == GPUS
    assert [d.index for d in inventory.visible(GPUS, "2,0")] == [2, 0]
    assert [d.index for d in inventory.visible(GPUS, "GPU-bbbb")] == [1]
    assert [d.index for d in inventory.visible(GPUS, "1,9,0")] == [1]   # CUDA stops at a bad entry
    assert inventory.visible(GPUS, "") == []


@pytest.mark.parametrize("argv, message", [
    (["mma", "--devices", "0,x"], "'x' is not a GPU index"),
    (["attention", "--devices", ""], "empty --devices"),
    (["mma", "--offline", "--devices", "0"], "--devices applies only to the measurements, not to --offline"),
])
def test_cli_reports_bad_devices_in_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_hook_adds_devices_to_gpu_commands_only(monkeypatch):
    fake = types.ModuleType("fake_gpu_command")
    fake.OPTIONS = Modes(modes=(Mode("the measurements", devices=True),))
    fake.add_parser = lambda sub: sub.add_parser("fakegpu").set_defaults(func=lambda a: 0)
    monkeypatch.setitem(sys.modules, "fake_gpu_command", fake)
    monkeypatch.setattr(cli, "SUBCOMMANDS", cli.SUBCOMMANDS + ("fake_gpu_command",))
    parser = cli.build_parser()
    assert parser.parse_args(["mma", "--devices", "0,1"]).devices == "0,1"
    assert parser.parse_args(["attention", "--devices", "all"]).devices == "all"
    assert parser.parse_args(["fakegpu", "--devices", "all"]).devices == "all"
    assert getattr(parser.parse_args(["mma"]), "devices") is None
    for name in ("info", "regs"):
        with pytest.raises(UserError, match="unrecognized arguments: --devices"):
            parser.parse_args([name, "--devices", "0"])


# ---- the child -----------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["mma", "--quick", "--devices", "0,1", "--acc", "f16"],
    ["mma", "--quick", "--devices=0,1", "--acc", "f16"],
    ["mma", "--quick", "--dev", "all", "--acc", "f16", "--results", "elsewhere"],
    ["mma", "--results=elsewhere", "--quick", "--acc", "f16", "--devices", "all"],
])
def test_child_gets_the_same_arguments_without_devices_and_its_own_results(argv, tmp_path):
    out = launch.child_argv(argv, tmp_path / "device1")
    assert out == ["mma", "--quick", "--acc", "f16", "--results", str(tmp_path / "device1")]
    assert launch.child_argv(["x", "--devices", "0", "--n", "3"], None) == ["x", "--n", "3"]


def test_child_is_pinned_by_uuid_and_writes_under_its_folder(tmp_path):
    env = launch.child_env(GPUS[2], tmp_path / "device2", base={"CUDA_VISIBLE_DEVICES": "0,1,2"})
    assert env["CUDA_VISIBLE_DEVICES"] == "GPU-cccc2222"
    assert env["MMABENCH_RESULTS"] == str(tmp_path / "device2")
    assert env["MMABENCH_DEVICE_INDEX"] == "2"
    assert env["PYTHONPATH"].split(":")[0] == str(launch.PACKAGE_ROOT)
    assert launch.child_env(Device(3, ""), tmp_path)["CUDA_VISIBLE_DEVICES"] == "3"


def test_exit_statuses_are_described():
    assert launch.describe_status(1) == "exit status 1"
    assert launch.describe_status(-signal.SIGKILL) == "killed by SIGKILL"


# ---- merging and the summary ---------------------------------------------------------------

def _fake_run(root, bench, rows, stamp="20250101-000000"):
    folder = root / f"{stamp}_{bench}_fake-h100"
    folder.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folder / f"{bench}.csv", index=False)
    return folder


def _mma_rows(scale, throttle=None, clock=1980.0):
    rows = []
    for form, peak in (("m16n8k16.f16.acc_f16", 600.0), ("m16n8k16.f16.acc_f32", 300.0)):
        rows.append({"form": form, "kind": "latency", "status": "ok", "latency_cycles": 33.0})
        for frac, sat in ((0.5, False), (1.0, True)):
            row = {"form": form, "kind": "throughput", "status": "ok", "tflops": peak * frac * scale,
                   "saturating": sat, "sm_clock_mhz": clock, "power_w": 500.0}
            if throttle is not None:
                row.update(throttle)
            rows.append(row)
    return rows


def test_merge_tags_every_row_with_its_gpu_and_keeps_each_folder(tmp_path):
    multi = record.RunFolder("mma", "multi", tmp_path)
    assert multi.path.name.endswith("_mma_multi")
    outcomes = [merge.Outcome(d, merge.device_folder(multi.path, d), "ok") for d in GPUS[:2]]
    _fake_run(outcomes[0].folder, "mma", _mma_rows(1.0))
    _fake_run(outcomes[1].folder, "mma", _mma_rows(0.9))
    _fake_run(outcomes[1].folder, "attention", [{"variant": "v", "dim": 64, "seq": 1024,
                                                 "causal": False, "status": "ok", "tflops": 1.0}])
    frames = merge.write_merged(multi, outcomes)
    mma = pd.read_csv(multi.path / "mma.csv")
    assert list(mma.columns[:2]) == ["device_index", "device_uuid"]
    assert len(mma) == 12 and sorted(set(mma.device_index)) == [0, 1]
    assert set(mma[mma.device_index == 1].device_uuid) == {"GPU-bbbb1111"}
    assert len(json.loads((multi.path / "mma.json").read_text())) == 12
    assert list(pd.read_csv(multi.path / "attention.csv").device_index) == [1]
    assert set(frames) == {"mma", "attention"}
    listed = json.loads((multi.path / "devices.json").read_text())
    assert [(d["index"], d["uuid"], d["status"]) for d in listed] == [
        (0, "GPU-aaaa0000", "ok"), (1, "GPU-bbbb1111", "ok")]
    assert listed[1]["run_folders"] == ["device1/20250101-000000_attention_fake-h100",
                                        "device1/20250101-000000_mma_fake-h100"]


def _frame(per_device):
    parts = []
    for index, rows in per_device.items():
        f = pd.DataFrame(rows)
        f.insert(0, "device_uuid", GPUS[index].uuid)
        f.insert(0, "device_index", index)
        parts.append(f)
    return pd.concat(parts, ignore_index=True)


def test_summary_spread_ratio_and_throttled_flag():
    frame = _frame({0: _mma_rows(1.0), 1: _mma_rows(0.8, {"throttled": True, "throttle": "sw_power_cap"}),
                    2: _mma_rows(0.9, {"throttled": False, "throttle": ""})})
    spec = summary.spec_for("mma", frame.columns)
    stats = {s.key[0]: s for s in summary.form_stats(frame, spec)}
    f16 = stats["m16n8k16.f16.acc_f16"]
    assert f16.values == {0: 600.0, 1: 480.0, 2: 540.0}          # the saturating row only
    assert f16.ratio == pytest.approx(0.8)
    assert f16.spread_pct == pytest.approx(100 * 120 / 540)
    assert f16.throttled == [1]
    outcomes = [merge.Outcome(d, None, "ok") for d in GPUS]
    text = summary.summarize("mma", frame, outcomes)
    assert "480.0*" in text and "0.800" in text and "GPU-bbbb1111" in text


def test_summary_of_eight_gpus_fits_120_columns_with_every_gpu_and_uuid():
    gpus = [Device(i, f"GPU-e61d089d-d2ae-0f5a-3541-0771e82c63{i:02d}", "NVIDIA H100 80GB HBM3",
                   f"00000000:{i:02d}:00.0") for i in range(8)]
    parts = []
    for d in gpus:
        f = pd.DataFrame(_mma_rows(1.0 - d.index / 100, {"throttled": d.index % 2 == 1,
                                                          "throttle": "sw_power_cap"}))
        f.insert(0, "device_uuid", d.uuid)
        f.insert(0, "device_index", d.index)
        parts.append(f)
    outcomes = [merge.Outcome(d, None, "failed" if d.index == 7 else "ok",
                              "exit 3: CUDA_ERROR_ECC_UNCORRECTABLE" if d.index == 7 else "")
                for d in gpus]
    text = summary.summarize("mma", pd.concat(parts, ignore_index=True), outcomes)
    assert max(map(len, text.splitlines())) <= 120
    assert all(f"GPU {i}" in text and gpus[i].uuid in text for i in range(8))
    assert "CUDA_ERROR_ECC_UNCORRECTABLE" in text and "slowest/fastest" in text


def test_summary_reads_throttle_reasons_and_does_without_condition_columns():
    frame = _frame({0: _mma_rows(1.0, {"throttle": "none"}), 1: _mma_rows(1.0, {"throttle": "hw_slowdown"})})
    stats = summary.form_stats(frame, summary.spec_for("mma", frame.columns))
    assert all(s.throttled == [1] and s.ratio == 1.0 and s.spread_pct == 0.0 for s in stats)
    bare = _frame({0: [{"form": "a", "status": "ok", "tflops": 2.0, "saturating": True}],
                   1: [{"form": "a", "status": "ok", "tflops": 1.0, "saturating": True}]})
    text = summary.summarize("mma", bare, [merge.Outcome(d, None, "ok") for d in GPUS[:2]])
    assert "0.500" in text and "throttled" in text
    assert summary.summarize("mma", bare.drop(columns="tflops"), []) == ""


def test_attention_and_unknown_benches_compare_per_variant_and_shape():
    rows = lambda t: [{"variant": "attn_a", "dim": 64, "seq": s, "causal": False, "status": "ok",
                       "tflops": t * s} for s in (1024, 2048)] + [
        {"variant": "attn_b", "dim": 64, "seq": 1024, "causal": False, "status": "error", "tflops": 9e9}]
    frame = _frame({0: rows(1.0), 1: rows(0.5)})
    stats = summary.form_stats(frame, summary.spec_for("attention", frame.columns))
    assert [s.key for s in stats] == [("attn_a", 64, 1024, False), ("attn_a", 64, 2048, False)]
    assert all(s.ratio == 0.5 for s in stats)
    generic = summary.spec_for("wgmma", ["form", "status", "saturating", "tflops"])
    assert generic.keys == ("form",) and ("saturating", True) in generic.where


# ---- the whole run with fake children ------------------------------------------------------

FAKE_CHILD = textwrap.dedent("""
    import json, os, signal, sys
    from pathlib import Path
    import pandas as pd
    root = Path(os.environ["MMABENCH_RESULTS"])
    index = int(os.environ["MMABENCH_DEVICE_INDEX"])
    (root / "argv.json").write_text(json.dumps({"argv": sys.argv[1:],
                                                "cuda": os.environ["CUDA_VISIBLE_DEVICES"]}))
    folder = root / "20250101-000000_mma_fake"
    folder.mkdir(parents=True)
    rows = [{"form": "f", "kind": "throughput", "status": "ok", "tflops": 100.0 - 10 * index,
             "saturating": True}]
    pd.DataFrame(rows).to_csv(folder / "mma.csv", index=False)
    print(f"fake child on GPU {index}")
    if index == 1:
        sys.exit(3)
    if index == 2:
        os.kill(os.getpid(), signal.SIGKILL)
""")


def _args(argv):
    return cli.build_parser().parse_args(argv)


def test_a_failing_gpu_is_reported_and_the_others_rows_are_kept(tmp_path, capsys):
    argv = ["mma", "--quick", "--devices", "all", "--results", str(tmp_path)]
    status = devices.run(_args(argv), argv, devices=GPUS, command=[sys.executable, "-c", FAKE_CHILD])
    assert status == 1
    out, err = capsys.readouterr()
    (said,) = [line for line in out.splitlines() if line.startswith("seed ")]
    drawn = said.split()[1].rstrip(";")   # drawn once by the parent: the same inputs on every GPU
    assert "GPU 1 (GPU-bbbb1111) failed: exit status 3" in err
    assert "GPU 2 (GPU-cccc2222) failed: killed by SIGKILL" in err
    assert "fake child on GPU 0" in out
    (multi,) = tmp_path.glob("*_mma_multi")
    merged = pd.read_csv(multi / "mma.csv")
    assert sorted(merged.device_index) == [0, 1, 2]          # the failed GPUs' rows kept
    assert "fake child on GPU 1" in (multi / "device1" / "log.txt").read_text()
    for d in GPUS:
        seen = json.loads((multi / f"device{d.index}" / "argv.json").read_text())
        assert seen == {"argv": ["mma", "--quick", "--seed", drawn,
                                 "--results", str(multi / f"device{d.index}")], "cuda": d.uuid}
    statuses = [(x["status"], x["detail"]) for x in json.loads((multi / "devices.json").read_text())]
    assert statuses == [("ok", ""), ("failed", "exit status 3"), ("failed", "killed by SIGKILL")]
    assert "0.800" in (multi / "summary.txt").read_text()      # 80 vs 100 TFLOP/s


def test_interrupt_keeps_what_was_measured(tmp_path, capsys):
    calls = []

    def launcher(cmd, env, log):
        calls.append(env["MMABENCH_DEVICE_INDEX"])
        _fake_run(log.parent, "mma", _mma_rows(1.0))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return 0

    argv = ["mma", "--devices", "0,1,2", "--results", str(tmp_path)]
    assert devices.run(_args(argv), argv, devices=GPUS, launcher=launcher) == 130
    assert calls == ["0", "1"]
    (multi,) = tmp_path.glob("*_mma_multi")
    assert sorted(set(pd.read_csv(multi / "mma.csv").device_index)) == [0, 1]
    statuses = [x["status"] for x in json.loads((multi / "devices.json").read_text())]
    assert statuses == ["ok", "interrupted", "not run"]
    assert "not run: GPU 2" in capsys.readouterr().err


# ---- one real GPU ----------------------------------------------------------------------------

@pytest.mark.gpu
def test_devices_0_on_a_real_gpu_tags_rows_with_index_and_uuid(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mmabench", "mma", "--quick", "--shape", "m16n8k16",
                           "--acc", "f32", "--type", "f16", "--devices", "0", "--results", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (multi,) = tmp_path.glob("*_mma_multi")
    rows = pd.read_csv(multi / "mma.csv")
    assert len(rows) > 0 and set(rows.device_index) == {0}
    (uuid,) = set(rows.device_uuid)
    assert uuid.startswith(("GPU-", "MIG-"))
    smi = subprocess.run(["nvidia-smi", "--query-gpu=index,uuid", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout
    assert f"0, {uuid}" in smi
    assert (rows.status == "ok").all() and rows.saturating.any()
    assert list((multi / "device0").glob("*_mma_*/mma.csv"))
    assert "slowest/fastest" in (multi / "summary.txt").read_text()
