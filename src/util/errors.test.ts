import { describe, expect, test } from "bun:test";
import { ExitCode, signalExitCode, verdictExitCode } from "./errors.ts";

describe("exit codes, decided in one place", () => {
  test("signals: 128 + the signal's number", () => {
    expect([signalExitCode("SIGINT"), signalExitCode("SIGTERM"), signalExitCode("SIGHUP")]).toEqual([130, 143, 129]);
  });
  test("verdictExitCode: signal, then bad input/environment, then a failed check, then a backend error", () => {
    expect(verdictExitCode({})).toBe(ExitCode.ok);
    expect(verdictExitCode({ failed: true })).toBe(ExitCode.checksFailed);
    expect(verdictExitCode({ errors: [4] })).toBe(ExitCode.backend);
    expect(verdictExitCode({ failed: true, errors: [4] })).toBe(ExitCode.checksFailed);
    expect(verdictExitCode({ failed: true, errors: [4, 3] })).toBe(ExitCode.environment);
    expect(verdictExitCode({ errors: [3, 2, 4] })).toBe(ExitCode.usage);
    expect(verdictExitCode({ signal: "SIGINT", failed: true, errors: [2] })).toBe(ExitCode.interrupted);
  });
});
