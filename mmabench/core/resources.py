"""The project's own files: `ptx/`, `kernels/` and `data/` at the top of the repository.

The wheel carries them as the packages `mmabench.ptx`, `mmabench.kernels` and `mmabench.data`
(setuptools package-dir mapping in pyproject.toml; each folder has an __init__.py so that an
editable install maps it onto the checkout too). Code finds them here, through
importlib.resources, and nowhere else. They are read-only: whatever a run writes goes to the
results folder or the user's cache.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGES = {"ptx": "mmabench.ptx", "kernels": "mmabench.kernels", "data": "mmabench.data"}


def _folder(kind: str) -> Path:
    # Installed as files on disk (wheel or editable), never zipped: a plain Path is safe.
    return Path(str(resources.files(PACKAGES[kind])))


def ptx(name: str) -> Path:
    """A hand-written PTX template under ptx/ ('mma_chain.ptx')."""
    return _folder("ptx") / name


def kernel(name: str) -> Path:
    """A CUDA C++ kernel source under kernels/ ('attention.cu')."""
    return _folder("kernels") / name


def data(*parts: str) -> Path:
    """A file or folder under data/ ('gpus.csv', 'results', ...)."""
    return _folder("data").joinpath(*parts)
