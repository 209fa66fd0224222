/** A reporter that renders the document to a file, atomically (readers see old or new, never half). */
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "../util/fs.ts";
import { scrub } from "../util/log.ts";
import type { Reporter } from "./reporter.ts";

export interface FileReporterOptions {
  /** Also write after every workflow/stage (so an interrupted run leaves what it measured). */
  everyStep?: boolean;
  /** Write only while the folder exists (e2e's own work folder: never recreate it after its teardown). */
  onlyIntoExistingFolder?: boolean;
}

export function fileReporter<R>(kind: string, path: string, render: (r: R) => string, o: FileReporterOptions = {}): Reporter<R> {
  const write = async (r: R) => {
    if (o.onlyIntoExistingFolder && !existsSync(dirname(path))) return;
    await writeFileAtomic(path, scrub(render(r)));
  };
  return { name: `${kind} ${path}`, ...(o.everyStep ? { workflowEnd: write } : {}), end: write };
}
