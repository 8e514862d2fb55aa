import pytest

from mmabench import gpu


def pytest_collection_modifyitems(config, items):
    reason = gpu.unavailable_reason()
    if not reason:
        return
    skip = pytest.mark.skip(reason=f"no GPU: {reason}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
