/** Print a value as the one JSON document on stdout (`--json`; logs stay on stderr). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
