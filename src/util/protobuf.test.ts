import { describe, expect, test } from "bun:test";
import { crc32 } from "./crc32.ts";
import { crc32c, maskCrc32c } from "./crc32c.ts";
import { FormatError, ProtoMessage, parseFields, readVarint } from "./protobuf.ts";
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
