import { describe, expect, test } from "bun:test";
import { crc32 } from "./crc32.ts";
import { crc32c, maskCrc32c } from "./crc32c.ts";
import { FieldCursor, FormatError, ProtoMessage, parseFields, readVarint } from "./protobuf.ts";
import { fieldBytes, fieldDouble, fieldFloat, fieldVarint, prng } from "../../tests/fixtures/testutil.ts";

const enc = new TextEncoder();

describe("crc", () => {
  const check = enc.encode("123456789");
  test("CRC-32 check value and Bun's implementation agree", () => {
    expect(crc32(check)).toBe(0xcbf43926);
    const data = enc.encode("the quick brown fox");
    expect(crc32(data)).toBe(Bun.hash.crc32(data));
    expect(crc32(data.subarray(5), crc32(data.subarray(0, 5)))).toBe(crc32(data));
  });
  test("CRC-32 over long inputs (Bun's native) equals the table over their bytes one by one", () => {
    const rand = prng(7);
    for (let n = 0; n < 400; n += 7) {
      const data = Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
      const seed = Math.floor(rand() * 2 ** 32);
      let byByte = seed;
      for (let i = 0; i < n; i++) byByte = crc32(data.subarray(i, i + 1), byByte);
      expect(crc32(data, seed)).toBe(byByte);
    }
  });
  test("CRC-32C check value and TensorFlow mask", () => {
    expect(crc32c(check)).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    // mask(0) = 0xA282EAD8; mask is rotate-right-15 plus constant.
    expect(maskCrc32c(0)).toBe(0xa282ead8);
    expect(maskCrc32c(1)).toBe(((1 << 17) + 0xa282ead8) >>> 0);
  });
});

describe("protobuf wire decoder", () => {
  test("varints, including 64-bit and negative int64", () => {
    expect(readVarint(new Uint8Array([0x96, 0x01]), 0)).toEqual([150n, 2]);
    const m = new ProtoMessage(new Uint8Array([...fieldVarint(1, -2), ...fieldVarint(2, 2n ** 63n + 5n), ...fieldVarint(3, 3)]));
    expect(m.int(1)).toBe(-2);
    expect(m.uint64(2)).toBe(2n ** 63n + 5n);
    expect(m.sint(3)).toBe(-2); // zigzag 3 -> -2
    expect(m.bool(3)).toBe(true);
    expect(m.int(9)).toBeUndefined();
  });
  test("varints either side of 2^53 (numbers below, BigInt above) and the cursor agree", () => {
    const vals = [0n, 1n, 127n, 128n, 2n ** 49n - 1n, 2n ** 49n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n];
    const m = new ProtoMessage(new Uint8Array(vals.flatMap((v, i) => fieldVarint(i + 1, v))));
    const c = new FieldCursor(m.buf);
    vals.forEach((v, i) => {
      expect(m.uint64(i + 1)).toBe(v);
      expect(m.int(i + 1)).toBe(Number(BigInt.asIntN(64, v)));
      expect(m.sint(i + 1)).toBe(Number((v >> 1n) ^ -(v & 1n)));
      expect(m.bool(i + 1)).toBe(v !== 0n);
      expect(c.next()).toBe(true);
      expect([c.no, c.wire, c.int()]).toEqual([i + 1, 0, Number(BigInt.asIntN(64, v))]);
    });
    expect(c.next()).toBe(false);
    const f = new FieldCursor(new Uint8Array([...fieldDouble(1, 0.1), ...fieldFloat(2, 0.1), ...fieldBytes(3, "hi")]));
    expect(f.next() && f.double()).toBe(0.1);
    expect(f.next() && f.float()).toBe(Math.fround(0.1));
    expect(f.next() && new TextDecoder().decode(f.bytes())).toBe("hi");
    expect(() => f.expect(0)).toThrow(/field 3 has wire type 2, expected 0/);
  });
  test("cursor strings: ASCII, UTF-8, long, and names read again from the recent ones", () => {
    const texts = ["loss", "lossy", "los", "événement", "x".repeat(100), "", "loss", "événement", "lo\u0000ss", "loss"];
    const c = new FieldCursor(new Uint8Array(texts.flatMap((t, i) => fieldBytes(i + 1, t))));
    for (const t of texts) {
      expect(c.next()).toBe(true);
      expect(c.name()).toBe(t);
      expect(c.string()).toBe(t);
    }
    for (let i = 0; i < 40; i++) {
      const d = new FieldCursor(new Uint8Array(fieldBytes(1, `k${i % 20}`)));
      d.next();
      expect(d.name()).toBe(`k${i % 20}`);
    }
  });
  test("length-delimited, fixed32/64, packed and repeated", () => {
    const inner = [...fieldBytes(1, "hi")];
    const packed = new Uint8Array(8);
    new DataView(packed.buffer).setFloat32(0, 1.5, true);
    new DataView(packed.buffer).setFloat32(4, -2, true);
    const m = new ProtoMessage(new Uint8Array([
      ...fieldBytes(1, "a"), ...fieldBytes(1, "b"), ...fieldBytes(2, inner), ...fieldDouble(3, 0.1), ...fieldFloat(4, 0.1),
      ...fieldBytes(5, packed), ...fieldFloat(5, 3),
    ]));
    expect(m.strings(1)).toEqual(["a", "b"]);
    expect(m.string(1)).toBe("b");
    expect(m.message(2)!.string(1)).toBe("hi");
    expect(m.double(3)).toBe(0.1);
    expect(m.float(4)).toBe(Math.fround(0.1));
    expect(m.floats(5)).toEqual([1.5, -2, 3]);
  });
  test("malformed input is a FormatError naming the offset", () => {
    const bad: [number[], RegExp][] = [
      [[0x08], /truncated varint at offset 1/],
      [[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], /varint longer than 10 bytes/],
      [[0x0a, 0x05, 0x61], /runs past the end.* at offset 0/],
      [[0x0b], /unsupported wire type 3/],
      [[0x00, 0x00], /invalid field number 0/],
      [[0x0d, 0x00, 0x00], /truncated fixed32/],
    ];
    for (const [bytes, re] of bad) {
      expect(() => parseFields(new Uint8Array(bytes), 0, "x.bin")).toThrow(re);
      expect(() => parseFields(new Uint8Array(bytes))).toThrow(FormatError);
    }
    expect(() => new ProtoMessage(new Uint8Array(fieldVarint(1, 1))).string(1)).toThrow(/wire type 0, expected 2/);
  });
});

describe("protobuf fuzz", () => {
  test("random bytes decode or throw FormatError, never anything else", () => {
    const rnd = prng(42);
    for (let i = 0; i < 3000; i++) {
      const buf = new Uint8Array(Math.floor(rnd() * 40)).map(() => Math.floor(rnd() * 256));
      try {
        const m = new ProtoMessage(buf);
        for (let no = 1; no < 6; no++) {
          for (const get of [() => m.string(no), () => m.messages(no), () => m.floats(no), () => m.doubles(no), () => m.int(no), () => m.double(no)]) {
            try {
              get();
            } catch (e) {
              if (!(e instanceof FormatError)) throw e;
            }
          }
        }
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
      }
    }
  });
});
