/**
 * The subset of the Compose format that the embedded stacks (assets/compose/*.yml) use, parsed
 * into a StackDef. Anything outside the subset is refused with an error that names the file, the
 * service and the key, never ignored.
 *
 * Supported top level: name, services, volumes (named, no options), networks (only `default`,
 * no options), and `x-*` extension fields (ignored, as Compose does; useful for YAML anchors).
 *
 * Supported per service: see SUPPORTED_SERVICE_KEYS. Notes:
 * - ports: short syntax only, and loopback only: "127.0.0.1::5000" (engine-chosen host port) or
 *   "127.0.0.1:8080:5000", optionally with "/tcp" or "/udp". An empty interpolated host port
 *   ("127.0.0.1:${PORT:-}:5000") means engine-chosen.
 * - volumes: named volumes declared at the top level only ("data:/path[:ro|:rw]"); bind mounts
 *   are refused.
 * - restart: accepted and not applied: an e2e stack lives for one run, and a container that exits
 *   must fail the start-up wait rather than restart behind it (containers get restart policy "no").
 * - x-e2e-ready: { port, path, status? }: HTTP readiness from the host through the published port
 *   (waited on in addition to the health check).
 *
 * Interpolation (on every string value after YAML parsing, as Compose does): $VAR, ${VAR},
 * ${VAR:-default} (unset or empty), ${VAR-default} (unset), ${VAR:?message} / ${VAR?message}
 * (error when missing, e.g. the W&B license), $$ for a literal $. Keys are not interpolated.
 */

export const SUPPORTED_SERVICE_KEYS = [
  "image",
  "command",
  "entrypoint",
  "environment",
  "ports",
  "volumes",
  "depends_on",
  "healthcheck",
  "restart",
  "networks",
  "x-e2e-ready",
] as const;
export const SUPPORTED_TOP_KEYS = ["name", "services", "volumes", "networks", "x-*"] as const;
const HEALTHCHECK_KEYS = ["test", "interval", "timeout", "retries", "start_period"] as const;

export type DependsCondition = "service_started" | "service_healthy";

export interface HealthCheck {
  /** Docker form: ["CMD", ...] or ["CMD-SHELL", "..."]. */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export interface PortSpec {
  hostIp: "127.0.0.1";
  /** Undefined: the engine picks a free host port. */
  hostPort?: number;
  containerPort: number;
  protocol: "tcp" | "udp";
}

export interface VolumeMount {
  /** Volume name as declared in the file (not the engine's name, which the stack prefixes). */
  source: string;
  target: string;
  readOnly: boolean;
}

export interface HttpReady {
  port: number;
  path: string;
  /** Accepted status; default: any 2xx. */
  status?: number;
}

export interface ServiceDef {
  name: string;
  image: string;
  command?: string[];
  entrypoint?: string[];
  environment: Record<string, string>;
  ports: PortSpec[];
  volumes: VolumeMount[];
  dependsOn: { service: string; condition: DependsCondition }[];
  healthcheck?: HealthCheck;
  /** As written; not applied (see the file comment). */
  restart?: string;
  httpReady?: HttpReady;
}

export interface StackDef {
  /** Stack name: top-level `name`, else the file's base name ("mlflow"). */
  name: string;
  /** Where it came from, for messages. */
  file: string;
  /** In file order. */
  services: Record<string, ServiceDef>;
  volumes: string[];
}

export type Env = Record<string, string | undefined>;

export class ComposeError extends Error {
  override name = "ComposeError";
}

// ---------------------------------------------------------------------------------------------
// Interpolation

/** Interpolate one string the way Compose does. `where` is used in error messages. */
export function interpolate(s: string, env: Env, where = "value", lenient = false): string {
  let out = "";
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c !== "$") {
      out += c;
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (next === "{") {
      // Find the matching close brace (defaults may themselves hold ${...}).
      let depth = 1;
      let j = i + 2;
      for (; j < s.length && depth > 0; j++) {
        if (s[j] === "{") depth++;
        else if (s[j] === "}") depth--;
      }
      if (depth !== 0) throw new ComposeError(`${where}: unterminated \${ in ${JSON.stringify(s)}`);
      const body = s.slice(i + 2, j - 1);
      out += expand(body, env, where, lenient);
      i = j;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i + 1));
    if (m) {
      out += env[m[0]] ?? "";
      i += 1 + m[0].length;
      continue;
    }
    throw new ComposeError(`${where}: invalid '$' in ${JSON.stringify(s)} (write $$ for a literal $)`);
  }
  return out;
}

function expand(body: string, env: Env, where: string, lenient: boolean): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([\s\S]*))?$/.exec(body);
  if (!m) throw new ComposeError(`${where}: invalid interpolation \${${body}}`);
  const [, name, op, arg = ""] = m as unknown as [string, string, string | undefined, string | undefined];
  const value = env[name!];
  switch (op) {
    case undefined:
      return value ?? "";
    case ":-":
      return value === undefined || value === "" ? interpolate(arg, env, where, lenient) : value;
    case "-":
      return value === undefined ? interpolate(arg, env, where, lenient) : value;
    case ":?":
    case "?": {
      const missing = op === ":?" ? value === undefined || value === "" : value === undefined;
      if (missing && lenient) return `<missing:${name}>`;
      if (missing) throw new ComposeError(`${where}: ${name} is required: ${interpolate(arg, env, where) || "set it in the environment"}`);
      return value!;
    }
    default:
      throw new ComposeError(`${where}: invalid interpolation \${${body}}`);
  }
}

function interpolateDeep(v: unknown, env: Env, where: string, lenient: boolean): unknown {
  if (typeof v === "string") return interpolate(v, env, where, lenient);
  if (Array.isArray(v)) return v.map((x) => interpolateDeep(x, env, where, lenient));
  if (v && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = interpolateDeep(x, env, `${where}: ${k}`, lenient);
    return o;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Helpers

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/** "1m30s", "5s", "500ms", "1h"; a bare number is seconds. */
export function parseDuration(v: unknown, where: string): number {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v * 1000;
  if (typeof v !== "string" || !v.trim()) throw new ComposeError(`${where}: expected a duration like "5s", got ${JSON.stringify(v)}`);
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const unit: Record<string, number> = { h: 3600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  let total = 0;
  let rest = s;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/.exec(rest);
    if (!m) throw new ComposeError(`${where}: expected a duration like "5s" or "1m30s", got ${JSON.stringify(v)}`);
    total += Number(m[1]) * unit[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** Split a command string as a POSIX shell would split words (quotes, backslashes; no expansion). */
export function shellSplit(s: string, where: string): string[] {
  const words: string[] = [];
  let cur = "";
  let has = false;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      if (has) words.push(cur);
      cur = "";
      has = false;
      i++;
    } else if (c === "'") {
      const j = s.indexOf("'", i + 1);
      if (j < 0) throw new ComposeError(`${where}: unterminated ' in ${JSON.stringify(s)}`);
      cur += s.slice(i + 1, j);
      has = true;
      i = j + 1;
    } else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === "\\" && i + 1 < s.length && '"\\$`'.includes(s[i + 1]!)) i++;
        cur += s[i];
        i++;
      }
      if (i >= s.length) throw new ComposeError(`${where}: unterminated " in ${JSON.stringify(s)}`);
      has = true;
      i++;
    } else if (c === "\\" && i + 1 < s.length) {
      cur += s[i + 1];
      has = true;
      i += 2;
    } else {
      cur += c;
      has = true;
      i++;
    }
  }
  if (has) words.push(cur);
  return words;
}

function stringList(v: unknown, where: string): string[] {
  if (typeof v === "string") return shellSplit(v, where);
  if (Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number")) return v.map(String);
  throw new ComposeError(`${where}: expected a string or a list of strings`);
}

function scalar(v: unknown, where: string): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new ComposeError(`${where}: expected a string, number or boolean, got ${JSON.stringify(v)}`);
}

// ---------------------------------------------------------------------------------------------
// Parsing

export function parsePort(v: unknown, where: string): PortSpec {
  const s = typeof v === "number" ? String(v) : v;
  if (typeof s !== "string") {
    throw new ComposeError(`${where}: only the short syntax "127.0.0.1::PORT" or "127.0.0.1:HOST:PORT" is supported`);
  }
  const m = /^127\.0\.0\.1:(\d*):(\d+)(?:\/(tcp|udp))?$/.exec(s.trim());
  if (!m) {
    throw new ComposeError(
      `${where}: port ${JSON.stringify(s)} refused: ports must be published on loopback only, as "127.0.0.1::PORT" (free host port) or "127.0.0.1:HOST:PORT"`,
    );
  }
  const hostPort = m[1] ? Number(m[1]) : undefined;
  const containerPort = Number(m[2]);
  for (const p of [hostPort, containerPort]) {
    if (p !== undefined && (p < 1 || p > 65535)) throw new ComposeError(`${where}: port ${p} out of range in ${JSON.stringify(s)}`);
  }
  return { hostIp: "127.0.0.1", hostPort, containerPort, protocol: (m[3] as "tcp" | "udp" | undefined) ?? "tcp" };
}

function parseHealthcheck(v: unknown, where: string): HealthCheck {
  if (!isObj(v)) throw new ComposeError(`${where}: expected a mapping`);
  for (const k of Object.keys(v)) {
    if (!(HEALTHCHECK_KEYS as readonly string[]).includes(k)) {
      throw new ComposeError(`${where}: key '${k}' is not supported (supported: ${HEALTHCHECK_KEYS.join(", ")})`);
    }
  }
  let test: string[];
  if (typeof v.test === "string") test = ["CMD-SHELL", v.test];
  else if (Array.isArray(v.test) && v.test.length >= 2 && v.test.every((x) => typeof x === "string") && ["CMD", "CMD-SHELL"].includes(String(v.test[0]))) {
    test = v.test as string[];
  } else {
    throw new ComposeError(`${where}: test must be a string or ["CMD", ...] / ["CMD-SHELL", "..."]`);
  }
  const retries = v.retries === undefined ? 3 : Number(v.retries);
  if (!Number.isInteger(retries) || retries < 1) throw new ComposeError(`${where}: retries must be a positive integer`);
  return {
    test,
    intervalMs: v.interval === undefined ? 30_000 : parseDuration(v.interval, `${where}: interval`),
    timeoutMs: v.timeout === undefined ? 30_000 : parseDuration(v.timeout, `${where}: timeout`),
    retries,
    startPeriodMs: v.start_period === undefined ? 0 : parseDuration(v.start_period, `${where}: start_period`),
  };
}

function parseEnvironment(v: unknown, env: Env, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (Array.isArray(v)) {
    for (const item of v) {
      if (typeof item !== "string") throw new ComposeError(`${where}: list entries must be "KEY=VALUE"`);
      const eq = item.indexOf("=");
      if (eq < 0) {
        const pass = env[item];
        if (pass !== undefined) out[item] = pass; // "KEY" alone: taken from the environment, as Compose does
      } else out[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return out;
  }
  if (!isObj(v)) throw new ComposeError(`${where}: expected a mapping or a list of "KEY=VALUE"`);
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined) {
      const pass = env[k];
      if (pass !== undefined) out[k] = pass;
    } else out[k] = scalar(x, `${where}: ${k}`);
  }
  return out;
}

function parseVolumes(v: unknown, declared: Set<string>, where: string): VolumeMount[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ComposeError(`${where}: expected a list of "NAME:/path[:ro]"`);
  return v.map((item, i) => {
    const w = `${where}[${i}]`;
    if (typeof item !== "string") throw new ComposeError(`${w}: only the short syntax "NAME:/path[:ro]" is supported`);
    const parts = item.split(":");
    const [source, target, mode] = parts;
    if (parts.length < 2 || parts.length > 3 || !source || !target?.startsWith("/")) {
      throw new ComposeError(`${w}: ${JSON.stringify(item)}: expected "NAME:/path[:ro]" (named volumes only)`);
    }
    if (source.startsWith("/") || source.startsWith(".") || source.startsWith("~")) {
      throw new ComposeError(`${w}: ${JSON.stringify(item)}: bind mounts are not supported; use a named volume declared under top-level volumes`);
    }
    if (!declared.has(source)) throw new ComposeError(`${w}: volume '${source}' is not declared under top-level volumes`);
    if (mode !== undefined && mode !== "ro" && mode !== "rw") throw new ComposeError(`${w}: mode '${mode}' is not supported (ro, rw)`);
    return { source, target, readOnly: mode === "ro" };
  });
}

function parseDependsOn(v: unknown, where: string): ServiceDef["dependsOn"] {
  if (v === undefined) return [];
  if (Array.isArray(v)) {
    return v.map((x) => {
      if (typeof x !== "string") throw new ComposeError(`${where}: list entries must be service names`);
      return { service: x, condition: "service_started" as const };
    });
  }
  if (!isObj(v)) throw new ComposeError(`${where}: expected a list of services or a mapping service -> {condition}`);
  return Object.entries(v).map(([service, spec]) => {
    const w = `${where}: ${service}`;
    if (spec === null) return { service, condition: "service_started" as const };
    if (!isObj(spec)) throw new ComposeError(`${w}: expected {condition: service_healthy|service_started}`);
    for (const k of Object.keys(spec)) {
      if (k !== "condition") throw new ComposeError(`${w}: key '${k}' is not supported (supported: condition)`);
    }
    const c = spec.condition ?? "service_started";
    if (c !== "service_started" && c !== "service_healthy") {
      throw new ComposeError(`${w}: condition '${String(c)}' is not supported (supported: service_started, service_healthy)`);
    }
    return { service, condition: c };
  });
}

function parseHttpReady(v: unknown, ports: PortSpec[], where: string): HttpReady {
  if (!isObj(v)) throw new ComposeError(`${where}: expected {port, path, status?}`);
  for (const k of Object.keys(v)) {
    if (!["port", "path", "status"].includes(k)) throw new ComposeError(`${where}: key '${k}' is not supported (supported: port, path, status)`);
  }
  const port = Number(v.port);
  const path = v.path === undefined ? "/" : String(v.path);
  if (!ports.some((p) => p.containerPort === port && p.protocol === "tcp")) {
    throw new ComposeError(`${where}: port ${String(v.port)} is not published by the service`);
  }
  if (!path.startsWith("/")) throw new ComposeError(`${where}: path must start with /`);
  const status = v.status === undefined ? undefined : Number(v.status);
  return { port, path, ...(status !== undefined ? { status } : {}) };
}

function parseService(name: string, raw: unknown, declared: Set<string>, env: Env, file: string): ServiceDef {
  const where = `compose: ${file}: service ${name}`;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new ComposeError(`${where}: invalid service name`);
  if (!isObj(raw)) throw new ComposeError(`${where}: expected a mapping`);
  for (const k of Object.keys(raw)) {
    if (!(SUPPORTED_SERVICE_KEYS as readonly string[]).includes(k)) {
      throw new ComposeError(`${where}: key '${k}' is not supported (supported: ${SUPPORTED_SERVICE_KEYS.join(", ")})`);
    }
  }
  if (typeof raw.image !== "string" || !raw.image.trim()) throw new ComposeError(`${where}: image is required (build is not supported)`);
  if (raw.ports !== undefined && !Array.isArray(raw.ports)) throw new ComposeError(`${where}: ports: expected a list`);
  const ports = ((raw.ports ?? []) as unknown[]).map((p, i) => parsePort(p, `${where}: ports[${i}]`));
  if (raw.networks !== undefined) {
    const n = raw.networks;
    const ok = (Array.isArray(n) && n.every((x) => x === "default")) || (isObj(n) && Object.keys(n).every((k) => k === "default" && !n[k]));
    if (!ok) throw new ComposeError(`${where}: networks: only 'default' is supported (every service of a stack shares one network)`);
  }
  let restart: string | undefined;
  if (raw.restart !== undefined) {
    restart = scalar(raw.restart, `${where}: restart`);
    if (!/^(no|always|unless-stopped|on-failure(:\d+)?)$/.test(restart)) throw new ComposeError(`${where}: restart: invalid value '${restart}'`);
  }
  const svc: ServiceDef = {
    name,
    image: raw.image.trim(),
    environment: parseEnvironment(raw.environment, env, `${where}: environment`),
    ports,
    volumes: parseVolumes(raw.volumes, declared, `${where}: volumes`),
    dependsOn: parseDependsOn(raw.depends_on, `${where}: depends_on`),
  };
  if (raw.command !== undefined) svc.command = stringList(raw.command, `${where}: command`);
  if (raw.entrypoint !== undefined) svc.entrypoint = stringList(raw.entrypoint, `${where}: entrypoint`);
  if (raw.healthcheck !== undefined) svc.healthcheck = parseHealthcheck(raw.healthcheck, `${where}: healthcheck`);
  if (restart !== undefined) svc.restart = restart;
  if (raw["x-e2e-ready"] !== undefined) svc.httpReady = parseHttpReady(raw["x-e2e-ready"], ports, `${where}: x-e2e-ready`);
  return svc;
}

/**
 * Parse compose YAML text into a StackDef. `file` names the source in errors; the stack name is
 * the top-level `name` or `file`'s base name without extension.
 */
export function parseCompose(
  text: string,
  opts: {
    file: string;
    env?: Env;
    name?: string;
    /** ${VAR:?msg} with VAR missing gives "<missing:VAR>" instead of an error: for listing images, plans. */
    lenient?: boolean;
  },
): StackDef {
  const file = opts.file;
  const env = opts.env ?? process.env;
  let doc: unknown;
  try {
    doc = Bun.YAML.parse(text);
  } catch (e) {
    throw new ComposeError(`compose: ${file}: invalid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isObj(doc)) throw new ComposeError(`compose: ${file}: expected a mapping at the top level`);
  for (const k of Object.keys(doc)) {
    if (!["name", "services", "volumes", "networks"].includes(k) && !k.startsWith("x-")) {
      throw new ComposeError(`compose: ${file}: top-level key '${k}' is not supported (supported: ${SUPPORTED_TOP_KEYS.join(", ")})`);
    }
  }
  // Extension fields are dropped before interpolation: they are only anchors/templates.
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!k.startsWith("x-")) body[k] = v;
  const d = interpolateDeep(body, env, `compose: ${file}`, opts.lenient ?? false) as Record<string, unknown>;

  if (d.networks !== undefined) {
    const n = d.networks;
    if (!isObj(n) || Object.keys(n).some((k) => k !== "default" || !!n[k])) {
      throw new ComposeError(`compose: ${file}: networks: only 'default' with no options is supported`);
    }
  }
  const volumes: string[] = [];
  if (d.volumes !== undefined && d.volumes !== null) {
    if (!isObj(d.volumes)) throw new ComposeError(`compose: ${file}: volumes: expected a mapping of names`);
    for (const [k, v] of Object.entries(d.volumes)) {
      if (v !== null && !(isObj(v) && Object.keys(v).length === 0)) {
        throw new ComposeError(`compose: ${file}: volume '${k}': options are not supported (declare it as '${k}:' or '${k}: {}')`);
      }
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(k)) throw new ComposeError(`compose: ${file}: volume '${k}': invalid name`);
      volumes.push(k);
    }
  }
  if (!isObj(d.services) || Object.keys(d.services).length === 0) throw new ComposeError(`compose: ${file}: services: at least one service is required`);
  const declared = new Set(volumes);
  const services: Record<string, ServiceDef> = {};
  for (const [name, raw] of Object.entries(d.services)) services[name] = parseService(name, raw, declared, env, file);

  for (const s of Object.values(services)) {
    for (const dep of s.dependsOn) {
      if (!services[dep.service]) throw new ComposeError(`compose: ${file}: service ${s.name}: depends_on: unknown service '${dep.service}'`);
      if (dep.condition === "service_healthy" && !services[dep.service]!.healthcheck) {
        throw new ComposeError(`compose: ${file}: service ${s.name}: depends_on ${dep.service} is service_healthy but ${dep.service} has no healthcheck`);
      }
    }
  }
  const base = file.split(/[\\/]/).pop()!.replace(/\.(ya?ml|json)$/i, "");
  const name = opts.name ?? (typeof d.name === "string" && d.name ? d.name : base);
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) throw new ComposeError(`compose: ${file}: stack name '${name}' must be lowercase letters, digits, '-' or '_'`);
  const stack: StackDef = { name, file, services, volumes };
  startOrder(stack); // throws on cycles
  return stack;
}

/**
 * Services in dependency order, as levels: every service of a level depends only on earlier
 * levels. Throws on a cycle.
 */
export function startOrder(stack: StackDef): string[][] {
  const levels: string[][] = [];
  const placed = new Set<string>();
  const all = Object.keys(stack.services);
  while (placed.size < all.length) {
    const level = all.filter((n) => !placed.has(n) && stack.services[n]!.dependsOn.every((d) => placed.has(d.service)));
    if (level.length === 0) {
      const rest = all.filter((n) => !placed.has(n));
      throw new ComposeError(`compose: ${stack.file}: depends_on has a cycle among: ${rest.join(", ")}`);
    }
    for (const n of level) placed.add(n);
    levels.push(level);
  }
  return levels;
}

/** Every image the stack uses, deduplicated, in service order. */
export function stackImages(stack: StackDef): string[] {
  return [...new Set(Object.values(stack.services).map((s) => s.image))];
}
