/**
 * What in the user's environment can make a good venv fail to import: said with the error, so a
 * PYTHONPATH carrying a broken sitecustomize.py is named instead of the venv being blamed.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

const WHY: Record<string, string> = {
  PYTHONPATH: "puts its folders before the venv's packages",
  PYTHONHOME: "moves the standard library away from the venv's Python",
  PYTHONUSERBASE: "adds a user site-packages folder",
  PYTHONPLATLIBDIR: "changes where Python looks for its libraries",
  PYTHONSTARTUP: "runs a file in interactive sessions",
  PYTHONWARNINGS: "can turn warnings raised on import into errors",
};

/** One phrase per variable that is set and may cause an import to fail. */
export function environmentSuspects(env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const [name, why] of Object.entries(WHY)) {
    const v = env[name];
    if (!v) continue;
    let phrase = `${name}=${v} ${why}`;
    if (name === "PYTHONPATH") {
      const hooks = v.split(":").filter(Boolean).flatMap((d) =>
        ["sitecustomize.py", "usercustomize.py"].map((f) => join(d, f)).filter((f) => existsSync(f)),
      );
      if (hooks.length) phrase += ` and has ${hooks.join(", ")}, which Python runs at start-up`;
    }
    out.push(phrase);
  }
  return out;
}
