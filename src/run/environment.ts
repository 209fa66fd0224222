import { cpus, freemem, platform, release, arch, totalmem, hostname } from "node:os";
import { VERSION } from "../version.ts";

/** The machine a result was measured on. */
export function hostEnvironment(): Record<string, unknown> {
  const cpu = cpus();
  return {
    e2e: VERSION,
    bun: Bun.version,
    os: `${platform()} ${release()}`,
    arch: arch(),
    hostname: hostname(),
    cpu: cpu[0]?.model ?? "unknown",
    cpus: cpu.length,
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
  };
}
