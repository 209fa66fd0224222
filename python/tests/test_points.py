"""The points file a large run's metrics spill to (e2e_track/points.py): records as logged, a
resumed file continues after exactly the points its manifest counted."""
import math
import struct
import sys

from conftest import PYDIR

sys.path.insert(0, str(PYDIR))  # e2e_track is imported in this process, not in a workflow's
from e2e_track.points import RECORD_BYTES, PointsFile  # noqa: E402


def records(path):
    data = open(path, "rb").read()
    return [struct.unpack_from("<4d", data, i) for i in range(0, len(data), RECORD_BYTES)]


def test_records_as_logged_and_resume_drops_uncounted(tmp_path):
    manifest = tmp_path / "manifest.json"
    pf = PointsFile.create(str(manifest), 0, "main/x")
    for i in range(20000):  # past one buffer
        pf.add("a", i, i / 3, 1000 + i)
    pf.add("b", 1, float("nan"), 5)
    pf.sync()
    counted = pf.describe()
    assert counted == {"path": "points-0-main_x.f64", "keys": ["a", "b"], "counts": [20000, 1]}
    pf.add("a", 99999, 1.0, 1)  # after the manifest's last write: a crash loses it
    pf.sync()
    resumed = PointsFile.resume(str(manifest), counted)
    resumed.add("b", 2, 2.0, 6)
    resumed.close()
    recs = records(resumed.path)
    assert len(recs) == 20002
    assert recs[20000][0] == 1 and math.isnan(recs[20000][2])
    assert recs[-1] == (1.0, 2.0, 2.0, 6.0)
    assert recs[3] == (0.0, 3.0, 1.0, 1003.0)
