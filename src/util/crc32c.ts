/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by TFRecord/TensorBoard event
 * files, plus TensorFlow's mask: ((crc >>> 15) | (crc << 17)) + 0xA282EAD8, mod 2^32.
 * (Bun.hash.crc32 is the zlib CRC-32, a different polynomial: not usable here.)
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TensorFlow's masked CRC-32C, stored in TFRecord framing. */
export function maskCrc32c(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

export const maskedCrc32c = (data: Uint8Array): number => maskCrc32c(crc32c(data));
