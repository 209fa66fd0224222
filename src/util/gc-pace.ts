/**
 * Bounds the garbage a long parse leaves behind. The garbage collector sizes its heap by what is
 * live, and a large run's columns (hundreds of MB of typed arrays) count as live, so the strings
 * and objects of parsing millions of records (JSON lines, protobuf records) can pile up to as
 * much again before a collection: at ten million points, GBs of RSS for nothing. A reader calls
 * the pacer with the bytes it has parsed; every `every` bytes it asks for a full collection (a few
 * ms with little JS live: typed arrays are not traversed). Outside Bun it does nothing.
 */
export function gcPacer(every = 16 << 20): (bytes: number) => void {
  const gc = typeof Bun !== "undefined" ? Bun.gc : undefined;
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < every || !gc) return;
    since = 0;
    gc(true);
  };
}
