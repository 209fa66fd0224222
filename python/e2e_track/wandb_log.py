"""What an offline W&B run recorded, read from its `.wandb` log with W&B's own record classes.

Offline there is no server to ask for an artifact; what `wandb sync` would upload is what the
log's artifact records name: each manifest entry's staged copy (local_path) and its digest
(base64 md5 for MANIFEST_MD5). The framing is LevelDB-log style: a 7-byte header, 32 KiB blocks,
chunks of (crc32 u32, length u16, type u8 FULL/FIRST/MIDDLE/LAST, data); src/backends/wandb/
records.ts documents the same format for the TypeScript verifier.
"""
import base64
import glob
import hashlib
import os
import struct

BLOCK = 32 * 1024


def records(path):
    """Every Record of one .wandb file, in order."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = open(path, "rb").read()
    if data[:4] != b":W&B":
        raise ValueError(f"{path} is not a .wandb log")
    off, parts = 7, []
    while off < len(data):
        left = BLOCK - off % BLOCK
        if left < 7:
            off += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[off:off + 7])
        chunk = data[off + 7:off + 7 + length]
        off += 7 + length
        if kind in (1, 2):
            parts = [chunk]
        else:
            parts.append(chunk)
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(b"".join(parts))
            yield rec


def find_artifact_entry(run_folders, entry_path):
    """The last artifact record (over the folders in order) with a manifest entry at entry_path:
    (artifact name, entry). Raises FileNotFoundError when none has it."""
    found = None
    for folder in run_folders:
        for log in sorted(glob.glob(os.path.join(folder, "run-*.wandb"))):
            for rec in records(log):
                if rec.WhichOneof("record_type") != "artifact":
                    continue
                for e in rec.artifact.manifest.contents:
                    if e.path == entry_path:
                        found = (rec.artifact.name, e)
    if found is None:
        raise FileNotFoundError(f"no W&B artifact record in {run_folders} has an entry {entry_path}")
    return found


def staged_copy(run_folders, entry_path):
    """Path of the staged bytes W&B recorded for entry_path, after checking them against the
    entry's size and md5 digest as W&B computed them."""
    name, e = find_artifact_entry(run_folders, entry_path)
    if not e.local_path or not os.path.isfile(e.local_path):
        raise FileNotFoundError(f"artifact {name} entry {entry_path}: staged copy {e.local_path!r} is gone")
    h = hashlib.md5()
    with open(e.local_path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    got = base64.b64encode(h.digest()).decode()
    if got != e.digest or os.path.getsize(e.local_path) != e.size:
        raise ValueError(f"artifact {name} entry {entry_path}: staged copy does not match its manifest entry")
    return e.local_path
