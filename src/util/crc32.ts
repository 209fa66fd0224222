/**
 * zlib CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as used by W&B's `.wandb` log chunks
 * and by zip entries. Table-driven; `crc32(b)` equals Python's `zlib.crc32(b)` and Bun.hash.crc32.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

// Bun's own (native) CRC-32 for all but short inputs: the same function, many times faster over
// the hundreds of MB a large run's .wandb log or ClearML metrics.jsonl holds.
const native = typeof Bun !== "undefined" && typeof Bun.hash?.crc32 === "function" ? Bun.hash.crc32 : undefined;

/** Continues a CRC-32 over more bytes: crc32(b, crc32(a)) === crc32(a ++ b). */
export function crc32(data: Uint8Array, previous = 0): number {
  if (native && data.length >= 64) return native(data, previous) >>> 0;
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
