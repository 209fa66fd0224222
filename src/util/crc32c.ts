/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by TFRecord/TensorBoard event
 * files, plus TensorFlow's mask: ((crc >>> 15) | (crc << 17)) + 0xA282EAD8, mod 2^32.
 * (Bun.hash.crc32 is the zlib CRC-32, a different polynomial: not usable here.)
 */
// Slicing-by-8 (Intel's method): TABLES[k][b] is the CRC of byte b followed by k zero bytes, so
// eight bytes are folded per step. An event file's records are checked twice each (length and
// data): at ten million TensorBoard points a byte-at-a-time loop was 15-20% of parsing them.
const TABLES = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[0]![n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) t[k]![n] = (t[0]![t[k - 1]![n]! & 0xff]! ^ (t[k - 1]![n]! >>> 8)) >>> 0;
  return t;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];

export function crc32c(data: Uint8Array, previous = 0): number {
  return crc32cRange(data, 0, data.length, previous);
}

/** CRC-32C of buf[from, to), without a view of it (no allocation per record). */
export function crc32cRange(buf: Uint8Array, from: number, to: number, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  let i = from;
  for (; i + 8 <= to; i += 8) {
    const lo = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c = T7[lo & 0xff]! ^ T6[(lo >>> 8) & 0xff]! ^ T5[(lo >>> 16) & 0xff]! ^ T4[lo >>> 24]!
      ^ T3[buf[i + 4]!]! ^ T2[buf[i + 5]!]! ^ T1[buf[i + 6]!]! ^ T0[buf[i + 7]!]!;
  }
  for (; i < to; i++) c = T0[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TensorFlow's masked CRC-32C, stored in TFRecord framing. */
export function maskCrc32c(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

export const maskedCrc32c = (data: Uint8Array): number => maskCrc32c(crc32c(data));

/** The masked CRC-32C of buf[from, to). */
export const maskedCrc32cRange = (buf: Uint8Array, from: number, to: number): number => maskCrc32c(crc32cRange(buf, from, to));
