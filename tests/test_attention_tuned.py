"""Tuned attention tiles: shipped as data, the user's own written to the cache, never into the package."""

import pytest

from mmabench.attention import tune, variants
from mmabench.compiler import toolchain


def test_shipped_tiles_are_read_from_the_package_data(tmp_path, monkeypatch):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))  # no tiles of the user's own
    variants.tuned.cache_clear()
    shipped = variants.load_tuned(variants.SHIPPED_TUNED_FILE)
    assert len(shipped) >= 6
    for (dim, acc_s, acc_o, norm), tiles in shipped.items():
        assert variants.variant(dim, acc_s, acc_o, norm).tiles == tiles
    variants.tuned.cache_clear()


def test_tune_writes_the_users_file_and_it_overrides_the_shipped_tiles(tmp_path, monkeypatch):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path / "cache"))
    variants.tuned.cache_clear()
    shipped_text = variants.SHIPPED_TUNED_FILE.read_text()
    v = variants.variant(64, "f32", "f32")
    other = variants.Tiles(4, 1, 64)
    assert other != v.tiles and not other.valid_for(64)
    try:
        tune.write_tuned({v.base_name: (other, [{"score": 1.0, "registers": 99}])}, [v],
                         "Test GPU", cases=[])
        written = variants.user_tuned_file()
        assert written.parent == toolchain.cache_dir() and written.is_file()
        assert variants.variant(64, "f32", "f32").tiles == other
        assert variants.SHIPPED_TUNED_FILE.read_text() == shipped_text
    finally:
        monkeypatch.delenv("MMABENCH_CACHE")
        variants.tuned.cache_clear()
    assert variants.variant(64, "f32", "f32").tiles == v.tiles


@pytest.mark.parametrize("mode", [0o770, 0o757], ids=lambda mode: f"mode{mode:04o}")
def test_tuned_tiles_are_not_read_from_a_cache_folder_others_can_write(tmp_path, monkeypatch,
                                                                       capsys, mode):
    cache = tmp_path / "cache"
    monkeypatch.setenv("MMABENCH_CACHE", str(cache))
    variants.tuned.cache_clear()
    v = variants.variant(64, "f32", "f32")
    planted = variants.Tiles(4, 1, 64)
    assert planted != v.tiles
    try:
        tune.write_tuned({v.base_name: (planted, [{"score": 1.0, "registers": 99}])}, [v],
                         "Test GPU", cases=[])
        cache.chmod(mode)
        variants.tuned.cache_clear()
        assert variants.variant(64, "f32", "f32").tiles == v.tiles
        assert f"cache folder {cache} is writable by group or others" in capsys.readouterr().err
    finally:
        variants.tuned.cache_clear()
