/**
 * A large `--json` document reaches a slow reader whole: Bun drops what a pipe has not taken yet
 * when process.exit runs, so e2e waits for stdout to drain first (output.ts, main.ts).
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const OUTPUT = join(import.meta.dir, "output.ts");

/** Runs a script that prints a 2 MB JSON document and exits with 3; reads its stdout only after a pause. */
async function slowRead(body: string): Promise<{ code: number; text: string }> {
  const dir = mkdtempSync(join(tmpdir(), "e2e-output-"));
  try {
    const script = join(dir, "print.ts");
    writeFileSync(script, `import { printJson, stdoutDrained } from ${JSON.stringify(OUTPUT)};\nprintJson({ big: "x".repeat(2_000_000) });\n${body}\nprocess.exit(3);\n`);
    const child = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "inherit" });
    await Bun.sleep(1500); // the reader lags: the pipe is full long before e2e is done
    const text = await new Response(child.stdout).text();
    return { code: await child.exited, text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the whole document reaches a reader slower than e2e, and the exit code stands", async () => {
  const r = await slowRead("await stdoutDrained();");
  expect(r.code).toBe(3);
  expect(r.text.length).toBeGreaterThan(2_000_000);
  expect(JSON.parse(r.text).big).toHaveLength(2_000_000);
}, 30_000);

test("a reader that closes early (| head) does not keep e2e waiting", async () => {
  const dir = mkdtempSync(join(tmpdir(), "e2e-output-"));
  try {
    const script = join(dir, "print.ts");
    writeFileSync(script, `import { printJson, stdoutDrained } from ${JSON.stringify(OUTPUT)};\nprintJson({ big: "x".repeat(2_000_000) });\nawait stdoutDrained();\nprocess.exit(3);\n`);
    const child = Bun.spawn(["sh", "-c", `'${process.execPath}' '${script}' | head -c 10 >/dev/null`], { stdout: "ignore" });
    const timer = setTimeout(() => child.kill(), 20_000);
    const code = await child.exited;
    clearTimeout(timer);
    expect(code).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
