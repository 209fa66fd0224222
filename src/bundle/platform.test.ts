import { describe, expect, test } from "bun:test";
import { defaultPlatform, expandPlatform, pipTarget, pipTargetArgs } from "./platform.ts";

describe("wheel platform tags", () => {
  test("manylinux_2_28 covers every older glibc baseline, legacy names included", () => {
    const tags = expandPlatform("manylinux_2_28_x86_64");
    expect(tags[0]).toBe("manylinux_2_28_x86_64");
    for (const t of ["manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]) expect(tags).toContain(t);
    expect(tags).not.toContain("manylinux_2_29_x86_64");
  });

  test("a legacy name expands from its glibc version; other tags pass through", () => {
    const tags = expandPlatform("manylinux2014_aarch64");
    expect(tags[0]).toBe("manylinux_2_17_aarch64");
    expect(tags).not.toContain("manylinux_2_28_aarch64");
    expect(expandPlatform("macosx_11_0_arm64")).toEqual(["macosx_11_0_arm64"]);
  });

  test("defaults follow the host", () => {
    expect(defaultPlatform("linux", "x64")).toBe("manylinux_2_28_x86_64");
    expect(defaultPlatform("linux", "arm64")).toBe("manylinux_2_28_aarch64");
    expect(defaultPlatform("darwin", "arm64")).toBe("macosx_11_0_arm64");
  });

  test("pip arguments: binary only, one --platform per tag, the CPython ABI", () => {
    const args = pipTargetArgs(pipTarget({ platform: "manylinux_2_28_x86_64", pythonVersion: "3.12" }));
    expect(args).toContain("--only-binary=:all:");
    expect(args.filter((a) => a === "--platform").length).toBe(expandPlatform("manylinux_2_28_x86_64").length);
    expect(args.slice(args.indexOf("--abi"), args.indexOf("--abi") + 2)).toEqual(["--abi", "cp312"]);
  });

  test("bad input is a usage error naming the fix", () => {
    expect(() => pipTarget({ pythonVersion: "3" })).toThrow(/MAJOR.MINOR/);
    expect(() => pipTarget({ platform: "linux x86", pythonVersion: "3.11" })).toThrow(/wheel platform tag/);
  });
});
