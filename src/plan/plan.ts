/**
 * Arguments -> a typed Plan. Pure: every check of user input happens here, with the valid
 * choices named in the error.
 */
import type { Mode } from "../backends/types.ts";
import { BACKEND_NAMES, descriptorOf } from "../backends/registry.ts";
import type { BackendName } from "../verify/manifest.ts";
import { usageError } from "../util/errors.ts";
import { sayList } from "../util/words.ts";
import { ALL_WORKFLOWS, WORKFLOWS, type Profile, type WorkflowName } from "./workflows.ts";

export interface Plan {
  /** credentialsFile: --api-key-file (a path; the secret itself never enters the plan). */
  backends: { name: BackendName; mode: Mode; url?: string; credentialsFile?: string }[];
  workflows: WorkflowName[];
  profile: Profile;
  port?: number;
  python?: string;
  assets?: string;
  keepWork: boolean;
  seed: number;
  device: "auto" | "cpu" | "cuda";
  /** Size overrides for every workflow (--size points=1000000). */
  sizes: Record<string, number>;
  /** Deadline for each workflow process (ms); default by profile. */
  timeoutMs?: number;
}

export interface RunArgs {
  backend?: string;
  workflow?: string;
  mode?: string;
  url?: string;
  /** W&B API key / ClearML access+secret key file for --url (secrets never on argv). */
  apiKeyFile?: string;
  profile?: string;
  port?: string;
  python?: string;
  assets?: string;
  keepWork?: boolean;
  seed?: string;
  device?: string;
  /** "key=value,key=value" */
  size?: string;
  /** Deadline for each workflow process, in seconds. */
  timeout?: string;
}

export function parseList<T extends string>(what: string, raw: string | undefined, valid: readonly T[], fallback: T[], all: readonly T[] = valid): T[] {
  if (!raw) return fallback;
  const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
  if (items.includes("all" as T)) return [...new Set([...all, ...items.filter((i) => i !== "all" && valid.includes(i as T))])] as T[];
  for (const i of items)
    if (!valid.includes(i as T)) throw usageError(`unknown ${what} '${i}'`, `use one of: ${valid.join(", ")} (or all)`);
  return [...new Set(items)] as T[];
}

export function makePlan(a: RunArgs): Plan {
  const names = parseList("backend", a.backend, BACKEND_NAMES, [...BACKEND_NAMES]);
  // quick: the cnn workflow; full: every workflow.
  const workflows = parseList("workflow", a.workflow, WORKFLOWS, a.profile === "full" ? [...ALL_WORKFLOWS] : ["cnn"], ALL_WORKFLOWS);
  if (a.profile && a.profile !== "quick" && a.profile !== "full")
    throw usageError(`unknown profile '${a.profile}'`, "use --profile quick or --profile full");
  if (a.url && !/^https?:\/\/[^\s/]+/.test(a.url)) throw usageError(`--url ${a.url} is not an http(s) URL`, "pass e.g. --url http://127.0.0.1:5000");
  if (a.url && names.length > 1) throw usageError("--url names one server but several backends were chosen", "pass exactly one --backend with --url");
  if (a.apiKeyFile && !a.url) throw usageError("--api-key-file goes with --url", `pass --url of your ${sayList(BACKEND_NAMES.map(descriptorOf).filter((b) => b.credentials.file).map((b) => b.title), "or")} server, or leave out --api-key-file`);
  const port = a.port === undefined ? undefined : Number(a.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw usageError(`--port ${a.port} is not a port number`, "use an integer from 1 to 65535");
  const seed = a.seed === undefined ? 0 : Number(a.seed);
  if (!Number.isInteger(seed)) throw usageError(`--seed ${a.seed} is not an integer`, "pass e.g. --seed 0");
  const device = (a.device ?? "auto") as Plan["device"];
  if (!["auto", "cpu", "cuda"].includes(device)) throw usageError(`unknown device '${a.device}'`, "use --device auto, cpu or cuda");
  const mode = a.url ? "url" : (a.mode as Mode | undefined);
  if (a.mode && a.url && a.mode !== "url") throw usageError(`--mode ${a.mode} and --url contradict each other`, "--url means --mode url: leave out --mode");
  if (mode === "url" && !a.url) throw usageError("--mode url needs --url", "pass --url http://host:port of the server");
  assertModes(names, mode);
  const backends = names.map((name) => ({
    name,
    mode: mode ?? descriptorOf(name).defaultMode,
    ...(a.url ? { url: a.url } : {}),
    ...(a.apiKeyFile ? { credentialsFile: a.apiKeyFile } : {}),
  }));
  const sizes: Record<string, number> = {};
  for (const kv of (a.size ?? "").split(",").filter(Boolean)) {
    const m = /^([a-z_]+)=(\d+)$/.exec(kv.trim());
    if (!m || Number(m[2]) <= 0) throw usageError(`--size ${kv} is not key=positive-integer`, "e.g. --size points=1000000,steps=50");
    sizes[m[1]!] = Number(m[2]);
  }
  const timeout = a.timeout === undefined ? undefined : Number(a.timeout);
  if (timeout !== undefined && !(timeout > 0 && Number.isFinite(timeout))) throw usageError(`--timeout ${a.timeout} is not a positive number of seconds`, "e.g. --timeout 600");
  return {
    backends,
    sizes,
    timeoutMs: timeout ? timeout * 1000 : undefined,
    workflows,
    profile: (a.profile ?? "quick") as Profile,
    port,
    python: a.python,
    assets: a.assets,
    keepWork: !!a.keepWork,
    seed,
    device,
  };
}

/**
 * An explicit --mode must be one every chosen backend has: `--backend all --mode docker` is bad
 * input naming each backend's modes, never a silent fallback to another mode.
 */
function assertModes(names: BackendName[], mode: Mode | undefined): void {
  if (!mode) return;
  const lacking = names.map(descriptorOf).filter((d) => !d.modes.includes(mode));
  if (!lacking.length) return;
  const modes = names.map(descriptorOf).map((d) => `${d.name}: ${d.modes.join(", ")}`).join("; ");
  const able = BACKEND_NAMES.map(descriptorOf).filter((d) => d.modes.includes(mode)).map((d) => d.name);
  throw usageError(
    `${lacking.map((d) => d.name).join(" and ")} ${lacking.length > 1 ? "have" : "has"} no ${mode} mode (${modes})`,
    able.length ? `use --backend ${able.join(",")} with --mode ${mode}, or leave out --mode for each backend's default` : "leave out --mode for each backend's default",
  );
}
