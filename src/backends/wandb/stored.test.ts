import { expect, test } from "bun:test";
import { manifestDigest } from "./stored.ts";

test("manifest digest recomputed as wandb 0.31 computes it (values from a real offline artifact record)", () => {
  // wandb.Artifact with add_file (1000 zero bytes), add_dir (one 1-byte file), add_reference(checksum=False):
  // the record's digest was d5e3c8ea8d8192a1a8b08b09d5307d40.
  const entries = [
    { path: "ref", digest: "https://example.com/a.bin" },
    { path: "checkpoints/m.pt", digest: "7ePTtoW04Te6TLJSEymnXg==" },
    { path: "dd/e/f.txt", digest: "j6FM3XVPkcxlVMnnGSnM5w==" },
  ];
  expect(manifestDigest(entries)).toBe("d5e3c8ea8d8192a1a8b08b09d5307d40");
  expect(manifestDigest(entries.slice(1))).not.toBe("d5e3c8ea8d8192a1a8b08b09d5307d40");
});
