"""`bundle`: one file with every row and its context; `compare`/`report` read it like the folders
it came from, and refuse a malformed or incompatible one in one line."""

import gzip
import json
import shutil

import pandas as pd
import pytest

from mmabench.cli import main
from mmabench.reporting import bundlefile, sources

SHIPPED = sources.SHIPPED


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A machine's results folder: the shipped H100 runs, with a PTX copy as a run would keep."""
    results = tmp_path / "results"
    shutil.copytree(SHIPPED, results)
    (results / "h100-sxm5" / "mma" / "ptx").mkdir()
    (results / "h100-sxm5" / "mma" / "ptx" / "k.ptx").write_text(".version 8.0\n// kernel\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MMABENCH_RESULTS", raising=False)
    return results


def _doc(path):
    return json.loads(gzip.decompress(path.read_bytes()))


def test_bundle_round_trips_every_row_and_context(machine, tmp_path, capsys):
    assert main(["bundle"]) == 0             # default: ./results
    out = capsys.readouterr().out
    written = sorted(tmp_path.glob("*" + bundlefile.SUFFIX))
    assert len(written) == 1 and "h100" in written[0].name and "rows" in out
    doc = _doc(written[0])
    assert doc["format"] == bundlefile.FORMAT and doc["version"] == bundlefile.VERSION
    assert {"mma", "attention", "attention-numerics", "arith"} <= {r["bench"] for r in doc["runs"]}
    assert all(r["context"].get("gpu_name") for r in doc["runs"])
    assert not any(k.endswith(".ptx") for r in doc["runs"] for k in r["files"])
    mma = next(r for r in doc["runs"] if r["bench"] == "mma")
    assert "nvidia-smi-before.txt" in mma["files"] and "ratio" not in mma["columns"]

    here, there = sources.load([str(machine)]), sources.load([str(written[0])])
    assert sorted(here.benches()) == sorted(there.benches())
    for bench in here.benches():
        a = here.frame(bench).drop(columns="source")
        b = there.frame(bench).drop(columns="source")
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=True)

    # compare prints the same tables from the bundle as from the folders
    assert main(["compare", str(machine)]) == 0
    from_folders = capsys.readouterr().out
    assert main(["compare", str(written[0])]) == 0
    assert capsys.readouterr().out == from_folders


def test_bundle_keeps_code_only_when_asked(machine, tmp_path, capsys):
    target = tmp_path / "with.mmabench.json.gz"
    assert main(["bundle", "--results", str(machine), "--with-code", "-o", str(target)]) == 0
    files = [k for r in _doc(target)["runs"] for k in r["files"]]
    assert "ptx/k.ptx" in files


def test_bundle_and_folders_merge(machine, tmp_path, capsys):
    target = tmp_path / "b.mmabench.json.gz"
    assert main(["bundle", "-o", str(target)]) == 0
    merged = sources.load([str(machine), str(target)])
    assert len(merged.frame("mma")) == 2 * len(sources.load([str(machine)]).frame("mma"))


def _write(path, doc):
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    return path


@pytest.mark.parametrize("change, says", [
    (lambda d: d.update(format="something-else"), "not an mmabench bundle"),
    (lambda d: d.update(version=99), "version 99 is not supported"),
    (lambda d: d.update(runs="nope"), "malformed"),
    (lambda d: d["runs"][0].update(rows=[{"gpu_name": "G", "form": "x"}], columns=None),
     "missing columns"),
    (lambda d: d["runs"][0].update(bench=None), "malformed"),
])
def test_malformed_or_incompatible_bundle_is_refused_in_one_line(machine, tmp_path, capsys,
                                                                 change, says):
    good = tmp_path / "good.mmabench.json.gz"
    assert main(["bundle", "-o", str(good)]) == 0
    doc = _doc(good)
    doc["runs"].sort(key=lambda r: r["bench"] != "mma")
    change(doc)
    bad = _write(tmp_path / "bad.mmabench.json.gz", doc)
    capsys.readouterr()
    for command in ("compare", "report"):
        assert main([command, str(bad)] + (["-o", str(tmp_path / "r.html")]
                                           if command == "report" else [])) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "Traceback" not in err and says in err, err


@pytest.mark.parametrize("content", [b"", b"\x1f\x8b\x08garbage", b"{not json"])
def test_truncated_or_garbled_bundle_is_one_line(tmp_path, capsys, content):
    bad = tmp_path / "x.mmabench.json.gz"
    bad.write_bytes(content)
    assert main(["compare", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "bundle" in err


def test_bundle_with_nothing_to_pack_or_unwritable_output_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MMABENCH_RESULTS", raising=False)
    assert main(["bundle"]) == 2
    assert "no results to bundle" in capsys.readouterr().err
    assert main(["bundle", "--results", str(SHIPPED), "-o", str(tmp_path / "no" / "x.gz")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_multi_device_run_rows_are_read_once(tmp_path):
    """A --devices run folder holds the merged rows and each GPU's own folder under device<N>/."""
    multi = tmp_path / "results" / "20260101-000000_mma_multi"
    rows = pd.DataFrame([{"gpu_name": "G", "form": "f", "kind": "throughput", "status": "ok",
                          "tflops": 1.0, "device_index": i} for i in (0, 1)])
    rows.to_csv((multi.mkdir(parents=True) or multi) / "mma.csv", index=False)
    (multi / "devices.json").write_text("{}")
    for i in (0, 1):
        own = multi / f"device{i}" / "20260101-000000_mma_g"
        own.mkdir(parents=True)
        rows[rows.device_index == i].to_csv(own / "mma.csv", index=False)
        (own / "context.json").write_text("{}")
    assert len(sources.load([str(tmp_path / "results")]).frame("mma")) == 2
    assert len(sources.load([str(multi / "device1")]).frame("mma")) == 1
