"""The package as a user installs it: a wheel built from the checkout, installed (not editable)
into a fresh virtual environment, run from a folder outside the checkout.

The environment sees this interpreter's site-packages for the dependencies (numpy, CuPy, the
NVIDIA compiler wheels: hundreds of MB that need no second download); mmabench itself comes from
the wheel alone, which the tests check before anything else.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILT_FROM = "0123456789ab"      # the commit the test wheel says it was built from
# A hand-written PTX kernel and a CUDA C++ one (NVRTC), for one architecture.
REGS_ARGS = ["regs", "--arch", "sm_80", "--no-save",
             "--kernel", "mma.m16n8k16.f16.acc_f32.thr,attn_d64_sf32_of32_delayed_*"]


def _tracked_copy(dest: Path) -> Path:
    """The files a clean checkout has (git ls-files), so the build sees no local leftovers and
    leaves its build/ and *.egg-info outside the checkout."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True)
    if listed.returncode != 0:  # not a git checkout: copy the tree as it is
        shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info",
                                                                    "results", "__pycache__"))
        return dest
    for name in listed.stdout.decode().split("\0"):
        if name and (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    source = _tracked_copy(root / "source")
    # the copy has no .git: the commit the wheel records comes from the environment
    env = {**os.environ, "MMABENCH_GIT_COMMIT": BUILT_FROM}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(root / "dist"), str(source)], check=True, capture_output=True, env=env)
    (built,) = (root / "dist").glob("mmabench-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """(python of the fresh environment, a folder outside the checkout, the environment's env)."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root / "env", system_site_packages=True, with_pip=False, symlinks=True)
    python = root / "env" / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", site, str(wheel)], check=True, capture_output=True)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MMABENCH_GIT_COMMIT")}
    env.update(MMABENCH_CACHE=str(root / "cache"), MMABENCH_RESULTS=str(root / "results"))
    return python, elsewhere, env, Path(site)


def _run(installed, *args):
    python, cwd, env, _ = installed
    return subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_wheel_carries_the_project_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in ("mmabench/ptx/mma_chain.ptx", "mmabench/ptx/wgmma_chain.ptx",
                 "mmabench/kernels/attention.cu", "mmabench/kernels/wgmma_gemm.cu",
                 "mmabench/data/gpus.csv", "mmabench/data/archs.csv",
                 "mmabench/data/arith_published.csv", "mmabench/data/attention_tuned.json"):
        assert path in names, path
    assert any(n.startswith("mmabench/data/results/") for n in names)


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    proc = _run(installed, "-c", "import mmabench, mmabench.core.project_files as r; "
                                 "print(mmabench.__file__); print(r.ptx('mma_chain.ptx'))")
    assert proc.returncode == 0, proc.stderr
    site = installed[3]
    for line in proc.stdout.split():
        assert Path(line).is_relative_to(site), line


def test_the_installed_package_records_the_commit_it_was_built_from(installed):
    proc = _run(installed, "-c", "from mmabench import record; print(record.git_commit())")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == BUILT_FROM


@pytest.mark.parametrize("args", [["--help"], ["info"]], ids=["help", "info"])
def test_commands_run_from_the_wheel(installed, args):
    proc = _run(installed, "-m", "mmabench", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_regs_compiles_ptx_and_cuda_from_the_wheel_and_writes_nothing_into_it(installed):
    site = installed[3]
    before = {p: p.stat().st_mtime_ns for p in (site / "mmabench").rglob("*")
              if "__pycache__" not in p.parts}
    proc = _run(installed, "-m", "mmabench", *REGS_ARGS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mma.m16n8k16.f16.acc_f32.thr" in proc.stdout and "attn_d64_sf32_of32" in proc.stdout
    after = {p: p.stat().st_mtime_ns for p in (site / "mmabench").rglob("*")
             if "__pycache__" not in p.parts}
    assert after == before


# ---------------------------------------------------------------- declared dependencies

# Imports of optional packages, each guarded in the code, and the extra that brings it.
OPTIONAL = {"torch": "torch", "triton": "torch", "matplotlib": "plot"}


def _third_party_imports() -> set[str]:
    stdlib = set(sys.stdlib_module_names)
    found = set()
    for path in (REPO / "mmabench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in stdlib and top != "mmabench":
                    found.add("cuda.pathfinder" if name.startswith("cuda.pathfinder") else top)
    return found


def _requirement_name(spec: str) -> str:
    for stop in "<>=!~[; ":
        spec = spec.split(stop)[0]
    return spec.lower()


def test_every_runtime_import_is_a_declared_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    required = {_requirement_name(d) for d in project["dependencies"]}
    extras = {name: {_requirement_name(d) for d in deps}
              for name, deps in project["optional-dependencies"].items()}
    providers = metadata.packages_distributions()
    missing = []
    for module in sorted(_third_party_imports()):
        if module in OPTIONAL:  # triton comes with torch's Linux wheels
            assert OPTIONAL[module] in extras, module
            continue
        dists = {d.lower() for d in providers.get(module.split(".")[0], [])}
        if module == "cuda.pathfinder":
            dists = {"cuda-pathfinder"}
        if not dists & required:
            missing.append(f"{module} (from {sorted(dists) or '?'})")
    assert not missing, f"imported but not in [project] dependencies: {missing}"


def test_every_package_of_the_source_is_in_the_wheel(wheel):
    packed = set(zipfile.ZipFile(wheel).namelist())
    on_disk = {p.relative_to(REPO).as_posix() for p in (REPO / "mmabench").rglob("__init__.py")}
    assert on_disk <= packed, f"packages missing from the wheel: {sorted(on_disk - packed)}"
