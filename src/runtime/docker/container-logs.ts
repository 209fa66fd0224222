/** Reading a container's last log lines (stdout and stderr, demultiplexed). */
import type Docker from "dockerode";

/**
 * Split the engine's multiplexed log stream (8-byte frame headers: stream, 0, 0, 0, size) into
 * text. A TTY container's logs are raw; that is detected and passed through.
 */
export function demuxLogs(buf: Buffer): string {
  const out: string[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i]!;
    if (kind > 2 || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0) return buf.toString("utf8"); // not multiplexed
    const size = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + size).toString("utf8"));
    i += 8 + size;
  }
  if (i < buf.length && out.length === 0) return buf.toString("utf8");
  return out.join("");
}

/** The last `tail` lines of a container's output; "" when it cannot be read. */
export async function containerLogs(docker: Docker, idOrName: string, tail = 40): Promise<string> {
  try {
    const raw = (await docker.getContainer(idOrName).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown;
    const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw ?? ""));
    return demuxLogs(buf).replace(/\s+$/, "");
  } catch {
    return "";
  }
}
