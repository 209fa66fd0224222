/** Validate a document against a schema in docs/schema (ajv, draft 2020-12). */
import Ajv2020 from "ajv/dist/2020.js";
import { join } from "node:path";
import { repoRoot } from "./helpers.ts";

export async function validateAgainst(schemaFile: string, doc: unknown): Promise<string[]> {
  const schema = await Bun.file(join(repoRoot, "docs", "schema", schemaFile)).json();
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, logger: false });
  const validate = ajv.compile(schema);
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
