"""A run's metric points in a binary file beside the manifest, once the run outgrows INLINE_MAX.

A manifest holding millions of points as JSON is slow to write (every write_manifest) and costs
the harness a JS object per point to read. Past the limit the run's points go to
`points-<n>-<key>.f64`, appended as they are logged: little-endian float64 records of four
(key index, step, value, timestamp ms), values as the doubles handed to the SDK (NaN and
±Infinity kept). The manifest names the file, the keys in index order and how many points of
each key it holds; only that many records count (src/verify/manifest-load.ts reads them as a
stream), so points logged after the last manifest write (a crash) are not expected.
"""
import os
import re
import sys
from array import array

INLINE_MAX = int(os.environ.get("E2E_INLINE_POINTS_MAX") or 100_000)
RECORD_BYTES = 32
_FLUSH_AT = 4 * 8192  # doubles buffered (8192 points) before a write


class PointsFile:
    def __init__(self, path, keys=(), counts=()):
        self.path = path
        self.keys = list(keys)
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.counts = list(counts) or [0] * len(self.keys)
        self._buf = array("d")
        self._f = open(path, "ab")
        # Continuing a file (a resumed run): drop records the last manifest did not count.
        self._f.truncate(sum(self.counts) * RECORD_BYTES)

    @classmethod
    def create(cls, manifest_path, order, key):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", key)
        name = f"points-{order}-{safe}.f64"
        path = os.path.join(os.path.dirname(os.path.abspath(manifest_path)), name)
        if os.path.exists(path):
            os.remove(path)  # a stale file of an earlier process with this key
        return cls(path)

    @classmethod
    def resume(cls, manifest_path, doc):
        path = os.path.join(os.path.dirname(os.path.abspath(manifest_path)), doc["path"])
        return cls(path, doc["keys"], doc["counts"])

    def add(self, key, step, value, ts):
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.keys)
            self.keys.append(key)
            self.counts.append(0)
        self._buf.extend((i, step, value, ts))
        self.counts[i] += 1
        if len(self._buf) >= _FLUSH_AT:
            self._write()

    def count(self):
        return sum(self.counts)

    def _write(self):
        if sys.byteorder != "little":
            self._buf.byteswap()
        self._buf.tofile(self._f)
        self._buf = array("d")

    def sync(self):
        """Everything added is on disk before a manifest counting it is."""
        self._write()
        self._f.flush()
        os.fsync(self._f.fileno())

    def describe(self):
        return {"path": os.path.basename(self.path), "keys": list(self.keys), "counts": list(self.counts)}

    def close(self):
        if not self._f.closed:
            self.sync()
            self._f.close()
