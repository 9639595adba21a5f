import pickle
import threading

import numpy as np
import pytest

from hckeras.data.image_cache import ImageCache
from hckeras.data.images import load_image


class CountingLoader:
    """A loader of `(side, side, 3)` uint8 images named by their side, that counts calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, path):
        self.calls.append(str(path))
        side = int(str(path))
        return np.full((side, side, 3), side % 256, dtype=np.uint8)


def test_second_get_is_a_hit_with_the_same_read_only_pixels(coco_json):
    path = coco_json.parent / "img1.png"
    cache = ImageCache(2**20)
    first = cache.get(path)
    np.testing.assert_array_equal(first, load_image(path))
    assert cache.get(path) is first
    assert (cache.hits, cache.misses, len(cache), cache.bytes) == (1, 1, 1, first.nbytes)
    with pytest.raises(ValueError, match="read-only"):
        first[0, 0, 0] = 1


def test_least_recently_used_image_goes_first():
    loader = CountingLoader()
    cache = ImageCache(700, loader=loader)  # an n x n image is 3 n^2 bytes
    for path in ("10", "11", "10"):
        cache.get(path)
    assert cache.bytes == 300 + 363 and len(cache) == 2
    cache.get("9")  # 906 bytes: "11", the least recently used, goes
    assert cache.bytes == 300 + 243
    cache.get("10")
    cache.get("11")  # now "9" is the least recently used
    assert cache.bytes == 300 + 363 and sorted(cache._images) == ["10", "11"]
    assert loader.calls == ["10", "11", "9", "11"]
    assert (cache.hits, cache.misses) == (2, 4)


def test_zero_budget_and_oversized_images_are_not_kept():
    loader = CountingLoader()
    nothing = ImageCache(0, loader=loader)
    assert nothing.get("4").shape == (4, 4, 3) and nothing.get("4").shape == (4, 4, 3)
    assert loader.calls == ["4", "4"] and len(nothing) == 0 and nothing.bytes == 0
    small = ImageCache(100, loader=loader)
    small.get("3")  # 27 bytes: kept
    assert small.get("8").shape == (8, 8, 3)  # 192 bytes: returned, not kept
    assert len(small) == 1 and small.bytes == 27


@pytest.mark.parametrize("budget", [-1, 1.5, True, "512"])
def test_bad_budget_is_named(budget):
    with pytest.raises(ValueError, match="max_bytes must be an integer >= 0"):
        ImageCache(budget)


def test_a_pickled_copy_starts_empty_with_the_same_budget(coco_json):
    cache = ImageCache(2**20)
    cache.get(coco_json.parent / "img1.png")
    copy = pickle.loads(pickle.dumps(cache))
    assert (copy.max_bytes, len(copy), copy.bytes, copy.hits, copy.misses) == (2**20, 0, 0, 0, 0)
    assert copy.get(coco_json.parent / "img1.png").shape == (40, 60, 3)


def test_threads_share_one_consistent_cache():
    loader = CountingLoader()
    cache = ImageCache(5 * 20 * 20 * 3, loader=loader)
    paths = [str(side) for side in range(10, 20)] * 20

    def work(offset):
        for path in paths[offset:] + paths[:offset]:
            assert cache.get(path)[0, 0, 0] == int(path)

    threads = [threading.Thread(target=work, args=(offset,)) for offset in (0, 3, 7, 11)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.bytes == sum(int(p) ** 2 * 3 for p in cache._images) <= cache.max_bytes
    assert cache.hits + cache.misses == 4 * len(paths)
