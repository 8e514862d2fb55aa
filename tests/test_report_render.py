"""`report` renders from the shipped results with no GPU and no network: the HTML is written, every
plot is present, every figure and table row is labelled measured / published / datasheet, and the
page loads nothing from anywhere."""

import json
import os
import socket
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import mmabench
from mmabench.cli import main
from mmabench.reporting import plots, sources

SHIPPED = sources.SHIPPED
PLOTS = {"instruction-rate", "attention-speed", "attention-ratio", "numerics-map", "datasheet-rates"}
LABELS = ("measured", "published", "datasheet")


class Page(HTMLParser):
    """Collects what the checks need: outside references, figures with their captions, table rows."""

    def __init__(self):
        super().__init__()
        self.outside, self.scripts, self.figures, self.rows = [], 0, {}, []
        self._fig = self._caption = None
        self._in_tbody = False
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href", "xlink:href", "data"):
            value = (attrs.get(key) or "").strip().lower()
            if value.startswith(("http:", "https:", "//", "ftp:")):
                self.outside.append((tag, value))
        if tag in ("script", "link", "iframe", "object", "embed", "img"):
            self.scripts += tag in ("script", "link", "iframe", "object", "embed")
        if tag == "figure":
            self._fig = attrs.get("data-plot")
            self.figures[self._fig] = {"svg": False, "caption": ""}
        if tag == "svg" and self._fig:
            self.figures[self._fig]["svg"] = True
        if tag == "figcaption":
            self._caption = []
        if tag == "tbody":
            self._in_tbody = True
        if tag == "tr" and self._in_tbody:
            self._row = []
        if tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "figcaption" and self._fig:
            self.figures[self._fig]["caption"] = "".join(self._caption)
            self._caption = None
        if tag == "figure":
            self._fig = None
        if tag == "td" and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        if tag == "tbody":
            self._in_tbody = False

    def handle_data(self, data):
        if self._caption is not None:
            self._caption.append(data)
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the report tried to open a network connection")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def rendered(tmp_path, no_network):
    out, md = tmp_path / "report.html", tmp_path / "report.md"
    assert main(["report", str(SHIPPED), "-o", str(out), "--markdown", str(md)]) == 0
    page = Page()
    page.feed(out.read_text(encoding="utf-8"))
    return out, md, page


@pytest.mark.skipif(not plots.available(), reason="plots need matplotlib")
def test_report_from_shipped_results_has_every_plot_labelled(rendered):
    out, md, page = rendered
    assert out.stat().st_size > 10_000
    assert set(page.figures) == PLOTS
    for key, fig in page.figures.items():
        assert fig["svg"], f"plot {key} is missing"
        assert any(label in fig["caption"] for label in LABELS), f"plot {key} has no provenance"
    assert "measured" in page.figures["instruction-rate"]["caption"]
    assert "datasheet" in page.figures["datasheet-rates"]["caption"]


def test_every_table_row_is_labelled(rendered):
    _, _, page = rendered
    assert len(page.rows) > 20
    for row in page.rows:
        assert row[-1].split(" ")[0].rstrip(":") in LABELS, row


def test_page_loads_nothing_from_the_network(rendered):
    out, _, page = rendered
    text = out.read_text(encoding="utf-8").lower()
    assert page.outside == [] and page.scripts == 0
    assert "<script" not in text and "@import" not in text and "url(http" not in text


def test_answers_are_derived_and_labelled(rendered):
    out, md, _ = rendered
    text = md.read_text(encoding="utf-8")
    answers = text.split("## The answer, per GPU")[1].split("\n## ")[0]
    h100 = next(line for line in answers.splitlines() if line.startswith("- H100 80GB HBM3"))
    assert "f32 rate" in h100 and "attention" in h100 and "registers" in h100
    assert "- GeForce RTX 4090 (sm_89, not measured here): the datasheet gives f16 accumulation 2.00x" \
        in answers
    assert "measured: NVIDIA H100 80GB HBM3; commit" in answers and "MHz (instructions)" in answers
    assert "datasheet:" in answers
    for key in PLOTS if plots.available() else ():
        assert (md.parent / "report-figures" / f"{key}.svg").is_file()
        assert f"report-figures/{key}.svg" in text


def test_report_with_no_arguments_needs_no_gpu_and_no_network(tmp_path):
    root = str(Path(mmabench.__file__).resolve().parent.parent)    # this checkout's package
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", http_proxy="http://127.0.0.1:9",
               https_proxy="http://127.0.0.1:9",
               PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    env.pop("MMABENCH_RESULTS", None)
    proc = subprocess.run([sys.executable, "-m", "mmabench", "report"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "report.html").stat().st_size > 10_000
    assert "H100 80GB HBM3 (sm_90):" in proc.stdout


def test_published_rows_are_shown_with_their_citation_and_chart_flag(tmp_path, no_network, capsys):
    pub = tmp_path / "published.csv"
    pd.DataFrame([{"gpu": "GeForce RTX 4090", "level": "instruction", "form": "m16n8k16.f16",
                   "acc": "f16", "metric": "tflops", "value": 123.4, "unit": "TFLOP/s",
                   "citation": "Example et al., Table 9", "from_chart": "yes"}]).to_csv(pub, index=False)
    out = tmp_path / "r.html"
    assert main(["report", str(SHIPPED), "-o", str(out), "--published", str(pub)]) == 0
    page = Page()
    page.feed(out.read_text(encoding="utf-8"))
    published = [r for r in page.rows if r[-1].startswith("published")]
    assert published and "Example et al., Table 9 (read off a chart)" in published[0][-1]
    assert "123.40" in published[0]
    bad = tmp_path / "bad.csv"
    pd.DataFrame([{"gpu": "x", "value": 1}]).to_csv(bad, index=False)
    assert main(["report", str(SHIPPED), "-o", str(out), "--published", str(bad)]) == 2
    assert "missing columns" in capsys.readouterr().err


def test_schema_tolerant_new_families_and_ratio_columns(tmp_path, no_network):
    """A wgmma run (new family) and attention rows with the interleaved ratio columns appear."""
    run = tmp_path / "results" / "20260101-000000_wgmma_x"
    run.mkdir(parents=True)
    (run / "context.json").write_text(json.dumps({"gpu_name": "NVIDIA H100 80GB HBM3"}))
    base = {"gpu_name": "NVIDIA H100 80GB HBM3", "sm_count": 132, "kind": "throughput",
            "status": "ok", "git_commit": "abc123", "timestamp": "2026-01-01T00:00:00Z"}
    pd.DataFrame([dict(base, form="m64n256k16.f16.acc_f16", acc="f16", tflops=800.0, power_w=650.0),
                  dict(base, form="m64n256k16.f16.acc_f32", acc="f32", tflops=790.0, power_w=690.0)]
                 ).to_csv(run / "wgmma.csv", index=False)
    att = tmp_path / "results" / "att"
    att.mkdir()
    common = dict(gpu_name="NVIDIA H100 80GB HBM3", dim=128, seq=4096, causal=False, norm="delayed",
                  status="ok", git_commit="abc123", timestamp="2026-01-01T00:00:00Z", sm_clock_mhz=1755)
    pd.DataFrame([dict(common, impl="mmabench", variant="a", acc_s="f32", acc_o="f32", tflops=400.0),
                  dict(common, impl="mmabench", variant="b", acc_s="f32", acc_o="f16", tflops=404.0,
                       ratio=1.01, ratio_lo=0.99, ratio_hi=1.03, within_noise=True)]
                 ).to_csv(att / "attention.csv", index=False)
    out = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "results"), "-o", str(out)]) == 0
    page = Page()
    page.feed(out.read_text(encoding="utf-8"))
    wgmma = [r for r in page.rows if len(r) > 2 and r[1] == "wgmma"]
    assert len(wgmma) == 3                        # two forms + their f16/f32 pair
    assert any("650" in r for r in wgmma)         # power during the run
    attention = next(r for r in page.rows if "S=f32 O=f16 delayed" in r)
    assert "1.01x" in attention and "0.99-1.03" in attention and "within noise" in attention
    assert "interleaved" in attention
    text = out.read_text(encoding="utf-8")
    assert "f16 accumulation runs wgmma m64n256k16.f16 at 1.01x the f32 rate" in text


def test_report_without_matplotlib_still_writes_the_page(tmp_path, monkeypatch, no_network):
    monkeypatch.setattr(plots, "available", lambda: False)
    out = tmp_path / "r.html"
    assert main(["report", str(SHIPPED), "-o", str(out)]) == 0
    page = Page()
    page.feed(out.read_text(encoding="utf-8"))
    assert set(page.figures) == PLOTS and not any(f["svg"] for f in page.figures.values())
    assert "matplotlib" in out.read_text()


def test_report_to_an_unwritable_path_is_one_line(tmp_path, capsys):
    assert main(["report", str(SHIPPED), "-o", str(tmp_path / "missing" / "r.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot write" in err and "\n" not in err
