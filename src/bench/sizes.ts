/** Byte sizes as people write them: 1KB, 64KB, 1MB, 256MB (binary multiples). */
export function sizeLabel(bytes: number): string {
  for (const [unit, n] of [["GB", 2 ** 30], ["MB", 2 ** 20], ["KB", 2 ** 10]] as const)
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  return `${bytes}B`;
}

/** The bytes a sizeLabel names ("64KB" -> 65536); NaN for anything else. */
export function bytesOf(label: string | number | undefined): number {
  const m = /^(\d+)(B|KB|MB|GB)$/.exec(String(label ?? ""));
  return m ? Number(m[1]) * { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30 }[m[2] as "B"] : NaN;
}

export function formatValue(value: number, unit: string): string {
  if (unit === "bytes") return `${(value / 2 ** 20).toFixed(1)} MiB`;
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return `${value.toFixed(digits)} ${unit}`;
}
