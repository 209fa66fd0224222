import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { descendantsOutsideGroup, spawnManaged } from "./process.ts";

/** Running, not ended (a zombie nobody reaped yet has ended). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]!);
  } catch {
    return false;
  }
};

test.skipIf(process.platform !== "linux")("stop() also ends a descendant that left the group (setsid, as wandb-core does)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "e2e-process-test-"));
  try {
    const pidFile = join(dir, "pid");
    const p = spawnManaged(["sh", "-c", `setsid sleep 60 & echo $! > ${pidFile}; wait`], { name: "test tree" });
    let stray = 0;
    for (let i = 0; i < 100 && !stray; i++) {
      await Bun.sleep(50);
      stray = Number(readFileSync(pidFile, { encoding: "utf8", flag: "a+" }).trim()) || 0;
    }
    expect(stray).toBeGreaterThan(0);
    await Bun.sleep(100); // setsid has run
    expect(descendantsOutsideGroup(p.pid).map((s) => s.pid)).toContain(stray);
    await p.stop(2000);
    expect(alive(stray)).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
