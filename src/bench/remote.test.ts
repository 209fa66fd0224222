/** `e2e bench --url` for MLflow: the credentials of --api-key-file reach the REST client and the load generator's raw requests. */
import { afterEach, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scrub } from "../util/log.ts";
import { loadHeaders } from "./load.ts";
import { remoteClient } from "./remote.ts";

afterEach(() => {
  delete loadHeaders.authorization;
});

test("--api-key-file's token goes as Authorization: Bearer from the client and the load generator, masked; the environment wins", async () => {
  const dir = await mkdtemp(join(tmpdir(), "e2e-bench-remote-"));
  // A server behind a bearer-token gateway: 401 without the token.
  const srv = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) => (req.headers.get("authorization") === "Bearer tok-bench-12345" ? new Response("3.17.2") : new Response("no", { status: 401 })),
  });
  try {
    const url = `http://127.0.0.1:${srv.port}`;
    await expect(remoteClient(url, undefined, {}).version()).rejects.toThrow(/401/);
    await writeFile(join(dir, "token"), "tok-bench-12345\n");
    expect(await remoteClient(url, join(dir, "token"), {}).version()).toBe("3.17.2");
    expect(loadHeaders.authorization).toBe("Bearer tok-bench-12345");
    expect(scrub("Bearer tok-bench-12345")).toBe("Bearer ***");
    await expect(remoteClient(url, join(dir, "token"), { MLFLOW_TRACKING_TOKEN: "tok-env-wins" }).version()).rejects.toThrow(/401/);
    expect(loadHeaders.authorization).toBe("Bearer tok-env-wins");
  } finally {
    srv.stop(true);
    await rm(dir, { recursive: true, force: true });
  }
});
