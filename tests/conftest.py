import importlib.util
import os
import secrets
import sys
from pathlib import Path

import numpy as np
import pytest

from mmabench import hardware

REPO = Path(__file__).resolve().parents[1]  # the checkout these tests belong to
SEED = pytest.StashKey[int]()


def load_script(name: str):
    """scripts/<name>.py as a module (the scripts are not a package; their tests import them)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module       # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def pytest_addoption(parser):
    parser.addoption("--seed", type=int, default=None, metavar="N",
                     help="seed of the tests' random inputs (default: a fresh one for each session, "
                          "shown in the header and in each failure of a test that draws from it)")


@pytest.hookimpl(trylast=True)    # after pytest's own tmp_path_factory is set up
def pytest_configure(config):
    seed = config.getoption("--seed")
    config.stash[SEED] = secrets.randbelow(2 ** 32) if seed is None else seed
    # The compile cache of this run is a folder of pytest's own, never ~/.cache/mmabench, and it
    # is in the environment (subprocesses inherit it) before collection: test modules build
    # attention variants at import, and those read the user's tuned tiles from the cache folder.
    cache = config._tmp_path_factory.mktemp("compile-cache")   # what tmp_path_factory returns
    mp = pytest.MonkeyPatch()
    config.add_cleanup(mp.undo)
    mp.setenv("MMABENCH_CACHE", str(cache))
    # a default table wider than 120 columns fails the test that draws it (subprocesses too)
    mp.setenv("MMABENCH_STRICT_TABLES", "1")


def pytest_report_header(config):
    return [f"random inputs: --seed {config.stash[SEED]}",
            f"compile cache: MMABENCH_CACHE={os.environ['MMABENCH_CACHE']}"]


@pytest.fixture
def seed(request) -> int:
    """The session's seed (--seed N): a test that draws from it draws the same inputs again
    when run with the same --seed, alone or with others."""
    return request.config.stash[SEED]


@pytest.fixture
def rng(seed) -> np.random.Generator:
    """A generator of the test's own, from the session's seed."""
    return np.random.default_rng(seed)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failure of a test that drew random inputs says how to draw them again."""
    report = yield
    if report.failed and "seed" in getattr(item, "fixturenames", ()):
        seed = item.config.stash[SEED]
        report.sections.append(("random inputs", f"drawn from --seed {seed}; again with: "
                                                 f"pytest --seed {seed} '{item.nodeid}'"))
    return report


def pytest_collection_modifyitems(config, items):
    reason = hardware.unavailable_reason()
    if not reason:
        return
    skip = pytest.mark.skip(reason=f"no GPU: {reason}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _results_in_tmp(monkeypatch, tmp_path):
    """Run folders go under the test's tmp dir (subprocesses inherit it), never the checkout."""
    monkeypatch.setenv("MMABENCH_RESULTS", str(tmp_path / "results"))


def _repo_results() -> set[Path]:
    folders = {Path.cwd() / "results", REPO / "results"}
    return {p for d in folders if d.is_dir() for p in (d, *d.iterdir())}


def pytest_sessionstart(session):
    session.config._mmabench_results = _repo_results()


def pytest_sessionfinish(session, exitstatus):
    """Fail the session if a test wrote a run folder into the checkout."""
    new = _repo_results() - getattr(session.config, "_mmabench_results", set())
    if new:
        print(f"\nERROR: tests wrote into the checkout: {', '.join(map(str, sorted(new)))}")
        session.exitstatus = 1


@pytest.fixture
def fake_nvml(monkeypatch):
    """`fake_nvml(nvmlDeviceGetPowerUsage=lambda h: 612_000, ...)` puts a stand-in for pynvml
    under mmabench.measure.nvml: pynvml's own constants and error classes, the calls given, and
    every other nvml* call failing with NVMLError_NotSupported; nvmlInit succeeds unless given.
    CUDA is left out of the device lookup (no bus id, no CUDA_VISIBLE_DEVICES)."""
    import types

    import pynvml

    from mmabench.measure import nvml

    def not_supported(*args):
        raise pynvml.NVMLError_NotSupported()

    def install(**calls):
        fake = types.ModuleType("pynvml")
        for name in dir(pynvml):
            if not name.startswith("nvml") or name.startswith("nvmlClocks"):   # constants, errors
                setattr(fake, name, getattr(pynvml, name))
        fake.__getattr__ = lambda name: not_supported
        fake.nvmlInit = lambda: None
        for name, call in calls.items():
            setattr(fake, name, call)
        monkeypatch.setattr(nvml, "pynvml", fake)
        nvml._initialised.cache_clear()
        nvml.device.cache_clear()
        return fake

    monkeypatch.setattr(nvml, "_pci_bus_id", lambda cuda_device: None)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    yield install
    nvml._initialised.cache_clear()
    nvml.device.cache_clear()


@pytest.fixture
def no_nvdisasm(monkeypatch):
    """The toolchain as on a machine without nvdisasm (the other tools as they are)."""
    from mmabench.compiler import toolchain
    from mmabench.core.errors import ToolMissing

    real = toolchain.find_tool

    def find_tool(name):
        if name == "nvdisasm":
            raise ToolMissing("nvdisasm missing; install it with: pip install nvidia-cuda-nvdisasm")
        return real(name)
    monkeypatch.setattr(toolchain, "find_tool", find_tool)
