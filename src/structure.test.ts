/**
 * The structure issue 12 asks for, kept true by a test: one list of backends (the descriptors),
 * cli/ files that only parse and call a command, and no static import cycle in src/.
 */
import { describe, expect, test } from "bun:test";
import { Glob } from "bun";
import { dirname, join, relative, resolve } from "node:path";
import { BACKEND_NAMES, BACKENDS } from "./backends/registry.ts";

const root = join(import.meta.dir, "..");
const sources = [...new Glob("src/**/*.ts").scanSync(root)].filter((f) => !f.endsWith(".test.ts") && !f.endsWith(".d.ts"));
const text = (f: string) => require("node:fs").readFileSync(join(root, f), "utf8").replace(/^#!.*\n/, "") as string;
const transpiler = new Bun.Transpiler({ loader: "ts" });
/** Static (non-type) relative imports of a file, as paths from the repository root. */
const importsOf = (f: string) =>
  transpiler.scanImports(text(f)).filter((i) => i.kind !== "dynamic-import" && i.path.startsWith(".")).map((i) => relative(root, resolve(root, dirname(f), i.path)));

describe("structure", () => {
  test("no list of two or more backend names outside src/backends/ (the descriptors are the list)", () => {
    const name = `["'](?:${BACKEND_NAMES.join("|")})["']`;
    const list = new RegExp(`${name}\\s*,\\s*${name}|${BACKEND_NAMES.join("\\|")}`);
    // Also a map keyed by backend ({ mlflow: ..., wandb: ... }) and a backend's compose file named
    // outside its folder; read from the transpiled code, so comments and types do not count.
    const keys = (code: string) => BACKEND_NAMES.filter((n) => new RegExp(`(?:^|[{,\\s])${n}\\s*:`, "m").test(code));
    const compose = new RegExp(`compose/(?:${BACKEND_NAMES.join("|")})\\.yml`);
    const offenders = sources.filter((f) => {
      if (f.startsWith("src/backends/")) return false;
      const code = transpiler.transformSync(text(f));
      return list.test(text(f)) || keys(code).length > 1 || compose.test(code);
    });
    expect(offenders).toEqual([]);
  });
  test("no help text or message spells out two or more backends (names or titles) outside src/backends/", () => {
    const esc = (w: string) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const word = `\\b(?:${BACKENDS.flatMap((b) => [b.name, b.title]).map(esc).join("|")})(?![\\w&])`;
    // "mlflow,wandb", "mlflow, wandb", "MLflow, W&B or ClearML", "W&B and ClearML", in code (not comments).
    const spoken = new RegExp(`${word}\\s*(?:,|\\||,?\\s+or\\b|,?\\s+and\\b)\\s*["'\`]?${word}`, "i");
    const offenders = sources.filter((f) => !f.startsWith("src/backends/") && spoken.test(transpiler.transformSync(text(f))));
    expect(offenders).toEqual([]);
  });
  test("cli/ files import only citty, their argument groups and a command's entry point", () => {
    const allowed = (p: string) => p.startsWith("src/cli/") || /^src\/(commands\/\w+|run\/command|bench\/command|bench\/sink)\.ts$/.test(p);
    const bad = sources.filter((f) => f.startsWith("src/cli/")).flatMap((f) => importsOf(f).filter((p) => !allowed(p)).map((p) => `${f} -> ${p}`));
    expect(bad).toEqual([]);
  });
  test("no static import cycle", () => {
    const graph = new Map(sources.map((f) => [f, importsOf(f)]));
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const path: string[] = [];
    const visit = (n: string) => {
      state.set(n, "open");
      path.push(n);
      for (const m of graph.get(n) ?? []) {
        if (state.get(m) === "open") cycles.push([...path.slice(path.indexOf(m)), m].join(" -> "));
        else if (!state.has(m)) visit(m);
      }
      path.pop();
      state.set(n, "done");
    };
    for (const f of sources) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
