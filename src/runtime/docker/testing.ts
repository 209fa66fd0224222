/**
 * Support for the Docker tests beside this file: is a real engine reachable, are the local
 * stand-in images there (assets/docker/build-images.sh), and does a session leave nothing behind.
 * Without an engine or images the integration tests are skipped with the reason in their name,
 * unless E2E_REQUIRE_DOCKER=1 (CI, after starting dockerd and building images) makes that a failure.
 */
import type Docker from "dockerode";
import { findEngine, type Engine } from "./engine.ts";
import { missingImages } from "./images.ts";
import { LABEL } from "./session.ts";

export const LOCAL_IMAGES = {
  mlflow: process.env.E2E_MLFLOW_IMAGE || "e2e-local/mlflow:3.17.2",
  postgres: process.env.E2E_POSTGRES_IMAGE || "e2e-local/postgres:15",
} as const;

export interface DockerTestEnv {
  engine?: Engine;
  /** Why the integration tests cannot run; undefined when they can. */
  skip?: string;
}

/** Probe once per test file. */
export async function dockerTestEnv(images: string[] = Object.values(LOCAL_IMAGES)): Promise<DockerTestEnv> {
  let engine: Engine;
  try {
    engine = await findEngine({ timeoutMs: 3000 });
  } catch (e) {
    return fallback(`no engine: ${(e as Error).message}`);
  }
  const missing = await missingImages(engine.docker, images);
  if (missing.length) return fallback(`images missing: ${missing.join(", ")} (build them: assets/docker/build-images.sh)`, engine);
  return { engine };
}

function fallback(reason: string, engine?: Engine): DockerTestEnv {
  if (process.env.E2E_REQUIRE_DOCKER === "1") throw new Error(`E2E_REQUIRE_DOCKER=1 but ${reason}`);
  console.warn(`[docker integration tests skipped] ${reason}`);
  return engine ? { engine, skip: reason } : { skip: reason };
}

/** Containers, networks and volumes that carry the session label (all should be empty after down). */
export async function sessionResources(docker: Docker, sessionId: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const filters = JSON.stringify({ label: [`${LABEL.session}=${sessionId}`] });
  const [c, n, v] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters }), docker.listVolumes({ filters })]);
  return { containers: c.map((x) => x.Names[0] ?? x.Id), networks: n.map((x) => x.Name), volumes: (v.Volumes ?? []).map((x) => x.Name) };
}

export const NOTHING = { containers: [], networks: [], volumes: [] };
