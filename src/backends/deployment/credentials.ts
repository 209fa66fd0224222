/**
 * Secrets for servers reached by URL: from the environment or a file, never from argv. Every
 * value read is registered with redact() at once, so it is masked in logs and reports; it
 * reaches the workflow process only through its environment, never config.json or the manifest.
 */
import { readFileSync, statSync } from "node:fs";
import { redact } from "../../util/log.ts";
import { usageError } from "../../util/errors.ts";

function readSecretFile(path: string, what: string): string {
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new Error("not a file");
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw usageError(`cannot read the ${what} file ${path}: ${(err as Error).message}`, "pass a readable file with --api-key-file FILE");
  }
  return text;
}

/** W&B API key: WANDB_API_KEY, else the file (--api-key-file or E2E_WANDB_API_KEY_FILE). */
export function wandbApiKey(file?: string, env: NodeJS.ProcessEnv = process.env): string {
  const path = file ?? env.E2E_WANDB_API_KEY_FILE;
  let key = env.WANDB_API_KEY?.trim();
  if (!key && path) {
    const text = readSecretFile(path, "W&B API key");
    // The bare key, or a .netrc entry for the server ("machine host login user password KEY").
    key = (/\bpassword\s+(\S+)/.exec(text)?.[1] ?? /WANDB_API_KEY\s*=\s*"?([^"\s]+)/.exec(text)?.[1] ?? text).trim();
  }
  if (!key)
    throw usageError("no W&B API key for --backend wandb --url", "set WANDB_API_KEY in the environment or pass --api-key-file FILE (a file holding the key); never on the command line");
  if (/\s/.test(key)) throw usageError("the W&B API key holds whitespace", "the key file must hold only the key");
  redact(key);
  return key;
}

export interface ClearmlKeys {
  accessKey: string;
  secretKey: string;
}

/**
 * ClearML access and secret key: CLEARML_API_ACCESS_KEY / CLEARML_API_SECRET_KEY, else the file
 * (--api-key-file or E2E_CLEARML_CREDENTIALS_FILE): lines `CLEARML_API_ACCESS_KEY=...` and
 * `CLEARML_API_SECRET_KEY=...`, a clearml.conf with `access_key: "..."`/`secret_key: "..."`,
 * or one line `ACCESS:SECRET`.
 */
export function clearmlKeys(file?: string, env: NodeJS.ProcessEnv = process.env): ClearmlKeys {
  const path = file ?? env.E2E_CLEARML_CREDENTIALS_FILE;
  let accessKey = env.CLEARML_API_ACCESS_KEY?.trim();
  let secretKey = env.CLEARML_API_SECRET_KEY?.trim();
  if ((!accessKey || !secretKey) && path) {
    const text = readSecretFile(path, "ClearML credentials");
    const pick = (re: RegExp) => re.exec(text)?.[1]?.trim();
    accessKey = pick(/(?:CLEARML_API_ACCESS_KEY|access_key)"?\s*[:=]\s*"?([^"\s,}]+)/) ?? accessKey;
    secretKey = pick(/(?:CLEARML_API_SECRET_KEY|secret_key)"?\s*[:=]\s*"?([^"\s,}]+)/) ?? secretKey;
    const pair = /^\s*([^\s:=]+):([^\s:=]+)\s*$/.exec(text);
    if ((!accessKey || !secretKey) && pair) [accessKey, secretKey] = [pair[1]!, pair[2]!];
  }
  if (!accessKey || !secretKey)
    throw usageError("no ClearML credentials for --backend clearml --url",
      "set CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY (ClearML web UI: Settings > Workspace > Create new credentials) or pass --api-key-file FILE; never on the command line");
  redact(accessKey);
  redact(secretKey);
  return { accessKey, secretKey };
}
