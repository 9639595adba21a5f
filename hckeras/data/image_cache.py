"""`ImageCache`: decoded images kept in memory between batches, up to a byte budget.

Training visits every instance once or more per epoch, and decoding its image is
a large share of the input pipeline's time (docs/data_pipeline.md, "Throughput").
The cache keeps the decoded uint8 arrays, least recently used first out, so a
data set that fits in the budget is decoded once per run; a larger one (COCO)
keeps its most recent images and costs nothing more than before.

Cached arrays are read-only: a caller that writes into one gets a `ValueError`
instead of silently changing later samples. The cache is safe to share between
the threads of `PyDataset` workers; a copy sent to worker processes starts empty.

    cache = ImageCache(max_bytes=512 * 2**20)
    pixels = cache.get("images/000001.png")   # uint8 (H, W, 3), read-only
"""

import collections
import threading

from hckeras.data.images import load_image

DEFAULT_IMAGE_CACHE_MB = 512
"""MiB of decoded images a training or validation dataset keeps (each worker process
its own copy); `TrainConfig.image_cache_mb` and `--image-cache-mb` change it."""


class ImageCache:
    """Least-recently-used cache of `load_image` results, bounded in bytes.

    Args:
        max_bytes: most bytes of pixels kept; 0 keeps nothing (every `get`
            decodes the file). An image larger than the budget is returned but
            not kept.
        loader: function from a path to a uint8 array (default `load_image`).

    Attributes:
        hits, misses: `get` calls answered from memory / by decoding.
    """

    def __init__(self, max_bytes, loader=load_image):
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"max_bytes must be an integer >= 0, got {max_bytes!r}")
        self.max_bytes = max_bytes
        self.loader = loader
        self._init_state()

    def _init_state(self):
        self._images = collections.OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self):
        return len(self._images)

    def get(self, path):
        """The image at `path` as a read-only uint8 array `(H, W, 3)`."""
        key = str(path)
        with self._lock:
            image = self._images.get(key)
            if image is not None:
                self._images.move_to_end(key)
                self.hits += 1
                return image
            self.misses += 1
        image = self.loader(path)
        image.flags.writeable = False
        if image.nbytes > self.max_bytes:
            return image
        with self._lock:
            if key not in self._images:
                self._images[key] = image
                self.bytes += image.nbytes
            while self.bytes > self.max_bytes:
                _, evicted = self._images.popitem(last=False)
                self.bytes -= evicted.nbytes
        return image

    def __getstate__(self):
        # A worker process gets the budget, not the pixels or the lock.
        return {"max_bytes": self.max_bytes, "loader": self.loader}

    def __setstate__(self, state):
        self.max_bytes = state["max_bytes"]
        self.loader = state["loader"]
        self._init_state()
