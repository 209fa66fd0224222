import { describe, expect, test } from "bun:test";
import { Reporters, type Reporter } from "./reporter.ts";

type Doc = { status: string; seen: string[] };

describe("Reporters (multiplexer)", () => {
  test("a reporter that throws is recorded once, the others still run, and the document is untouched", async () => {
    const warnings: string[] = [];
    const calls: string[] = [];
    const broken: Reporter<Doc> = {
      name: "junit /nonexistent/x.xml",
      workflowEnd: () => {
        throw Object.assign(new Error("ENOENT: no such file or directory"), {});
      },
      end: async () => {
        throw new Error("ENOENT: no such file or directory");
      },
      step: () => {
        throw new Error("boom");
      },
    };
    const good: Reporter<Doc> = { name: "good", workflowEnd: (d) => void calls.push(`wf:${d.status}`), end: (d) => void calls.push(`end:${d.status}`), step: () => void calls.push("step") };
    const stdout: Reporter<Doc> = { name: "json", printsToStdout: true, end: () => void calls.push(`stdout-after-${rs.failures.length}-failures`) };
    const rs = new Reporters<Doc>([broken, good, stdout], (l) => warnings.push(l));
    const doc: Doc = { status: "passed", seen: [] };
    await rs.begin(doc);
    await rs.workflowEnd(doc);
    await rs.workflowEnd(doc);
    rs.step("cnn", 1, 2);
    await rs.end(doc);
    expect(doc.status).toBe("passed");
    expect(calls).toEqual(["wf:passed", "wf:passed", "step", "end:passed", "stdout-after-2-failures"]);
    // The same failure twice is said once; a different one is said too.
    expect(rs.failures.map((f) => `${f.reporter}:${f.hook}`)).toEqual(["junit /nonexistent/x.xml:workflowEnd", "junit /nonexistent/x.xml:step"]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain("report junit /nonexistent/x.xml failed");
    expect(warnings[0]).toContain("the verdict is unchanged");
  });
  test("hooks a reporter lacks are skipped", async () => {
    const rs = new Reporters<Doc>([{ name: "empty" }]);
    await rs.begin({ status: "x", seen: [] });
    await rs.backendReady({ backend: "mlflow", mode: "native" }, { status: "x", seen: [] });
    await rs.end({ status: "x", seen: [] });
    expect(rs.failures).toEqual([]);
  });
});
