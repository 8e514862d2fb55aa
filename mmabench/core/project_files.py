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

from mmabench.core.errors import UserError

PACKAGES = {"ptx": "mmabench.ptx", "kernels": "mmabench.kernels", "data": "mmabench.data"}


def _folder(kind: str) -> Path:
    try:
        root = resources.files(PACKAGES[kind])
    except ModuleNotFoundError:
        # The package was imported from a source checkout that is not installed (python -m
        # from the checkout's folder puts it first on sys.path): its ptx/ is not mmabench.ptx.
        import mmabench

        raise UserError(f"mmabench is imported from {Path(mmabench.__file__).parent}, which is "
                        f"not installed, so {kind}/ cannot be found; install that checkout with "
                        "`pip install -e .`, or run from another folder") from None
    # Installed as files on disk (wheel or editable), never zipped: a plain Path is safe.
    return Path(str(root))


def shipped_folders() -> list[Path]:
    """The package and its ptx/, kernels/ and data/ (under an editable install, the checkout's
    folders): nothing is ever written inside them."""
    import mmabench

    return [Path(mmabench.__file__).parent] + [_folder(kind) for kind in PACKAGES]


def ptx(name: str) -> Path:
    """A hand-written PTX template under ptx/ ('mma_chain.ptx')."""
    return _folder("ptx") / name


def kernel(name: str) -> Path:
    """A CUDA C++ kernel source under kernels/ ('attention.cu')."""
    return _folder("kernels") / name


def data(*parts: str) -> Path:
    """A file or folder under data/ ('gpus.csv', 'results', ...)."""
    return _folder("data").joinpath(*parts)
