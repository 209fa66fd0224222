/** Progress of long work on a terminal: one redrawn line on a TTY, sparse log lines elsewhere. */
import { log } from "../util/log.ts";

export function progressPrinter(enabled: boolean) {
  const tty = !!process.stderr.isTTY;
  const last = new Map<string, number>();
  return (what: string, step: number, total: number) => {
    if (!enabled || !total) return;
    const pct = Math.floor((100 * step) / total);
    if (tty) {
      process.stderr.write(`\r\x1b[2K${what}: ${step}/${total} (${pct}%)`);
      if (step >= total) process.stderr.write("\n");
      return;
    }
    const bucket = Math.floor(pct / 25);
    if (last.get(what) === bucket) return;
    last.set(what, bucket);
    log.info(`${what}: ${step}/${total} (${pct}%)`);
  };
}
