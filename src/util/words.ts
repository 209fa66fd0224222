/** Words as a sentence lists them: "a", "a or b", "a, b and c" (help text and messages). */
export function sayList(words: readonly string[], conj: "and" | "or" = "and"): string {
  if (words.length < 2) return words.join("");
  return `${words.slice(0, -1).join(", ")} ${conj} ${words.at(-1)}`;
}
