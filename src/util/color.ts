/**
 * Colour only for a person at a terminal: off when the stream is not a TTY (a pipe, a log file),
 * off with NO_COLOR (no-color.org), on with FORCE_COLOR (except FORCE_COLOR=0/false).
 */
export function colorOn(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force !== "false";
  return !!stream.isTTY && env.TERM !== "dumb";
}

/** Remove SGR (colour and style) sequences; cursor movement is left alone. */
export const stripColor = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");
