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

/** What MLflow's SDK reads for a server behind auth: a bearer token, or a user and password (basic). */
export interface MlflowCredentials {
  token?: string;
  basic?: { user: string; password: string };
}

/**
 * MLflow credentials: MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD, else the file
 * (--api-key-file or E2E_MLFLOW_CREDENTIALS_FILE): the bare token, a `MLFLOW_TRACKING_TOKEN=...`
 * line, or `MLFLOW_TRACKING_USERNAME=...` and `MLFLOW_TRACKING_PASSWORD=...` lines. None at all
 * is fine (a server without auth); a file that holds none of these is a usage error.
 */
export function mlflowCredentials(file?: string, env: NodeJS.ProcessEnv = process.env): MlflowCredentials {
  const path = file ?? env.E2E_MLFLOW_CREDENTIALS_FILE;
  let c: MlflowCredentials = {};
  if (env.MLFLOW_TRACKING_TOKEN?.trim()) c = { token: env.MLFLOW_TRACKING_TOKEN.trim() };
  else if (env.MLFLOW_TRACKING_USERNAME) c = { basic: { user: env.MLFLOW_TRACKING_USERNAME, password: env.MLFLOW_TRACKING_PASSWORD ?? "" } };
  else if (path) {
    const text = readSecretFile(path, "MLflow credentials");
    const pick = (name: string) => new RegExp(`^[ \\t]*(?:export[ \\t]+)?${name}[ \\t]*=[ \\t]*"?([^"\\n]*?)"?[ \\t]*$`, "m").exec(text)?.[1];
    const user = pick("MLFLOW_TRACKING_USERNAME");
    // A bare token is one word that is not a NAME=value line (a base64 token may end in '=').
    const bare = text.trim();
    const isBare = bare && !/\s/.test(bare) && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(bare);
    const token = pick("MLFLOW_TRACKING_TOKEN") ?? (isBare ? bare : undefined);
    if (token) c = { token };
    else if (user) c = { basic: { user, password: pick("MLFLOW_TRACKING_PASSWORD") ?? "" } };
    else
      throw usageError(`the MLflow credentials file ${path} holds no token`,
        "put the bare token in it, or MLFLOW_TRACKING_TOKEN=... (or MLFLOW_TRACKING_USERNAME=... and MLFLOW_TRACKING_PASSWORD=... lines)");
  }
  redact(c.token);
  redact(c.basic?.password);
  return c;
}

/** The variables MLflow's SDK reads them from, for a workflow's environment (never argv). */
export function mlflowCredentialsEnv(c: MlflowCredentials): Record<string, string> {
  if (c.token) return { MLFLOW_TRACKING_TOKEN: c.token };
  if (c.basic) return { MLFLOW_TRACKING_USERNAME: c.basic.user, MLFLOW_TRACKING_PASSWORD: c.basic.password };
  return {};
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
