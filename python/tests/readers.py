"""Independent readers for what the SDKs wrote, so tests compare against the stored data."""
import hashlib
import json
import struct
import zlib


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def wandb_records(path):
    """Records of a .wandb file, decoded by hand (wandb 0.31 no longer ships a reader).

    Framing: 7-byte header ':W&B' 0xBEE1 v0; 32 KiB blocks of chunks with a 7-byte header
    (uint32 CRC-32 of type byte + data, uint16 length, uint8 type FULL=1 FIRST=2 MIDDLE=3
    LAST=4); fewer than 7 bytes left in a block are padding.
    """
    from wandb.proto import wandb_internal_pb2 as pb

    data = open(path, "rb").read()
    assert data[:7] == b":W&B\xe1\xbe\x00", data[:7]
    pos, buf, block = 7, b"", 32768
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if crc == length == kind == 0:
            break
        chunk = data[pos + 7:pos + 7 + length]
        assert zlib.crc32(bytes([kind]) + chunk) == crc, f"bad checksum at {pos}"
        pos += 7 + length
        buf += chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(buf)
            yield record
            buf = b""


def is_tensorboard_row(row):
    """A row W&B's TensorBoard capture wrote (event step in `global_step`, keys "<run key>/<tag>"),
    not one the adapter logged."""
    return "global_step" in row


def wandb_history(records):
    """(key, step, value) per metric item, step being the logged `step` key of its row."""
    points = []
    for r in records:
        if r.WhichOneof("record_type") != "history":
            continue
        row = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.history.item}
        if is_tensorboard_row(row):
            continue
        for k, v in row.items():
            if k != "step" and not k.startswith("_"):
                points.append((k, row["step"], v))
    return points


def manifest_points(run):
    return sorted((k, p[0], p[1]) for k, pts in run["metrics"].items() for p in pts)


def wandb_stored_bytes(folders, path):
    """The bytes W&B holds for a file the adapter logged, found through W&B's records only:
    a run file needs its `files` record and files/<path>; a checkpoint its artifact record's
    manifest entry, whose staged copy (local_path) must match the entry's md5 digest."""
    import base64
    from pathlib import Path

    for folder in folders:
        [log] = Path(folder).glob("run-*.wandb")
        for r in wandb_records(log):
            kind = r.WhichOneof("record_type")
            if kind == "files" and any(f.path == path for f in r.files.files):
                return (Path(folder) / "files" / path).read_bytes()
            if kind == "artifact":
                for e in r.artifact.manifest.contents:
                    if e.path == path:
                        data = Path(e.local_path).read_bytes()
                        assert base64.b64encode(hashlib.md5(data).digest()).decode() == e.digest
                        return data
    raise AssertionError(f"W&B recorded no {path} in {folders}")
