/**
 * Finding a Docker-compatible engine: a list of strategies tried in order (as testcontainers
 * does): `DOCKER_HOST`, the default socket, the rootless Docker socket, the Podman sockets.
 * The first one that answers a ping wins. No engine is a one-line error that names the fix.
 */
import Docker from "dockerode";
import { statSync } from "node:fs";

export interface EngineCandidate {
  /** How the candidate was found, for messages: "DOCKER_HOST=unix:///x", "/var/run/docker.sock". */
  source: string;
  /** Unix socket path; absent for DOCKER_HOST (then dockerode reads DOCKER_HOST/DOCKER_TLS_* itself). */
  socketPath?: string;
}

export interface Engine {
  docker: Docker;
  /** Where it was found (see EngineCandidate.source). */
  source: string;
  kind: "docker" | "podman";
  /** Server version, e.g. "20.10.24+dfsg1". */
  version: string;
  apiVersion: string;
}

/** No engine answered; `message` is one line that names the fix. */
export class EngineNotFoundError extends Error {
  override name = "EngineNotFoundError";
  constructor(message: string, readonly tried: string[]) {
    super(message);
  }
}

type Env = Record<string, string | undefined>;

/** The candidates in the order they are tried. DOCKER_HOST, when set, is the only candidate. */
export function engineCandidates(env: Env = process.env): EngineCandidate[] {
  const host = env.DOCKER_HOST?.trim();
  if (host) {
    return [{ source: `DOCKER_HOST=${host}`, socketPath: host.startsWith("unix://") ? host.slice("unix://".length) : undefined }];
  }
  const list: EngineCandidate[] = [{ source: "/var/run/docker.sock", socketPath: "/var/run/docker.sock" }];
  const xdg = env.XDG_RUNTIME_DIR || (typeof process.getuid === "function" ? `/run/user/${process.getuid()}` : undefined);
  if (xdg) list.push({ source: `${xdg}/docker.sock`, socketPath: `${xdg}/docker.sock` });
  if (xdg) list.push({ source: `${xdg}/podman/podman.sock`, socketPath: `${xdg}/podman/podman.sock` });
  list.push({ source: "/run/podman/podman.sock", socketPath: "/run/podman/podman.sock" });
  return list;
}

function dockerFor(c: EngineCandidate, env: Env): Docker {
  if (c.socketPath) return new Docker({ socketPath: c.socketPath });
  const host = env.DOCKER_HOST ?? "";
  const m = /^tcp:\/\/([^:/]+|\[[^\]]+\]):(\d+)\/?$/.exec(host);
  if (m && !env.DOCKER_TLS_VERIFY) return new Docker({ protocol: "http", host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) });
  // TLS, ssh://, npipe: docker-modem reads DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH itself.
  return new Docker();
}

function errCode(e: unknown): string | undefined {
  if (e && typeof e === "object") {
    const o = e as { code?: unknown; errno?: unknown; cause?: unknown };
    if (typeof o.code === "string") return o.code;
    if (o.cause) return errCode(o.cause);
  }
  return undefined;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what}: no answer within ${ms} ms`), { code: "ETIMEDOUT" })), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

const PERMISSION_FIX =
  "add your user to the docker group (sudo usermod -aG docker $USER, then log in again), run as root, or set DOCKER_HOST to a socket you may use";

/**
 * Find and ping an engine. Throws EngineNotFoundError with a one-line message:
 * - nothing answers: "no container engine found (tried ...): start dockerd (or Docker Desktop / podman system service) or set DOCKER_HOST"
 * - permission denied on a socket: "permission denied on <socket>: add your user to the docker group ..."
 */
export async function findEngine(opts: { env?: Env; timeoutMs?: number; candidates?: EngineCandidate[] } = {}): Promise<Engine> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const candidates = opts.candidates ?? engineCandidates(env);
  const tried: string[] = [];
  let denied: string | undefined;
  let lastProblem: string | undefined;

  for (const c of candidates) {
    if (c.socketPath && !env.DOCKER_HOST) {
      try {
        statSync(c.socketPath);
      } catch (e) {
        if (errCode(e) === "EACCES") denied ??= c.socketPath;
        tried.push(c.source);
        continue;
      }
    }
    tried.push(c.source);
    const docker = dockerFor(c, env);
    try {
      await withTimeout(docker.ping(), timeoutMs, `ping ${c.source}`);
      const v = (await withTimeout(docker.version(), timeoutMs, `version ${c.source}`)) as {
        Version?: string;
        ApiVersion?: string;
        Components?: { Name?: string }[];
      };
      const podman = (v.Components ?? []).some((x) => /podman/i.test(x.Name ?? "")) || /podman/.test(c.source);
      return { docker, source: c.source, kind: podman ? "podman" : "docker", version: v.Version ?? "?", apiVersion: v.ApiVersion ?? "?" };
    } catch (e) {
      const code = errCode(e);
      if (code === "EACCES" || code === "EPERM") denied ??= c.socketPath ?? c.source;
      else lastProblem = code ?? (e instanceof Error ? e.message : String(e)).split("\n")[0];
    }
  }

  if (denied) throw new EngineNotFoundError(`permission denied on ${denied}: ${PERMISSION_FIX}`, tried);
  if (env.DOCKER_HOST) {
    throw new EngineNotFoundError(
      `no container engine answers at DOCKER_HOST=${env.DOCKER_HOST} (${lastProblem ?? "no answer"}): start the engine there or fix/unset DOCKER_HOST`,
      tried,
    );
  }
  throw new EngineNotFoundError(
    `no container engine found (tried ${tried.join(", ")}): start dockerd (sudo systemctl start docker, or \`dockerd &\`), or Podman's socket (systemctl --user start podman.socket), or set DOCKER_HOST`,
    tried,
  );
}
