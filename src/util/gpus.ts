/**
 * The GPUs the NVIDIA kernel driver lists, read from /proc without initialising CUDA (which
 * costs seconds): what a machine has, for reports; whether torch can use them is told by the
 * workflows themselves (each reports the device it ran on) and by `e2e doctor --deep`.
 */
import { readdirSync, readFileSync } from "node:fs";

const ROOT = "/proc/driver/nvidia/gpus";

export function driverGpus(): string[] {
  let ids: string[];
  try {
    ids = readdirSync(ROOT);
  } catch {
    return [];
  }
  return ids.map((id) => {
    try {
      return /Model:\s*(.+)/.exec(readFileSync(`${ROOT}/${id}/information`, "utf8"))?.[1]?.trim() ?? id;
    } catch {
      return id;
    }
  });
}
