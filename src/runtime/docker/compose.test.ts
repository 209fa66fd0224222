import { describe, expect, test } from "bun:test";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { BACKENDS } from "../../backends/registry.ts";
import { interpolate, parseCompose, parseDuration, shellSplit, stackImages, startOrder } from "./compose.ts";
import { EMBEDDED_STACK_NAMES, embeddedStackImages, loadEmbeddedStack } from "./embedded.ts";
import { plan } from "./stack.ts";

const LICENSED = { E2E_WANDB_LICENSE: "test-license" };

describe("embedded compose files", () => {
  test("one per file in assets/compose/, each a backend descriptor's, as text equal to the file", async () => {
    const dir = join(import.meta.dir, "../../../assets/compose");
    const files = (await readdir(dir)).filter((f) => f.endsWith(".yml")).map((f) => f.slice(0, -4));
    expect([...EMBEDDED_STACK_NAMES].sort()).toEqual(files.sort());
    for (const b of BACKENDS) if (b.compose) expect(b.compose.yml).toBe(await Bun.file(join(dir, `${b.compose.stack}.yml`)).text());
  });
  for (const name of EMBEDDED_STACK_NAMES) {
    describe(name, () => {
      const stack = loadEmbeddedStack(name, LICENSED);
      test("parses, named after the file", () => {
        expect(stack.name).toBe(name);
        expect(Object.keys(stack.services).length).toBeGreaterThan(0);
      });
      test("every service has a health check", () => {
        for (const s of Object.values(stack.services)) expect({ service: s.name, hc: !!s.healthcheck }).toEqual({ service: s.name, hc: true });
      });
      test("every port is published on 127.0.0.1 only", () => {
        const ports = Object.values(stack.services).flatMap((s) => s.ports);
        expect(ports.length).toBeGreaterThan(0);
        for (const p of ports) expect(p.hostIp).toBe("127.0.0.1");
        // Default: engine-chosen host ports (no fixed host port unless overridden).
        for (const p of ports) expect(p.hostPort).toBeUndefined();
      });
      test("every volume is a declared named volume", () => {
        for (const s of Object.values(stack.services)) for (const v of s.volumes) expect(stack.volumes).toContain(v.source);
      });
      test("images are overridable from the environment", () => {
        const env: Record<string, string> = { ...LICENSED };
        for (const k of ["E2E_MLFLOW_IMAGE", "E2E_POSTGRES_IMAGE", "E2E_CLEARML_IMAGE", "E2E_CLEARML_ES_IMAGE", "E2E_CLEARML_MONGO_IMAGE", "E2E_CLEARML_REDIS_IMAGE", "E2E_WANDB_IMAGE"]) {
          env[k] = `registry.internal/${k.toLowerCase()}:1`;
        }
        const images = stackImages(loadEmbeddedStack(name, env));
        for (const i of images) expect(i).toStartWith("registry.internal/");
      });
    });
  }

  test("mlflow: plan is postgres healthy, then mlflow with served artifacts on a volume", () => {
    const stack = loadEmbeddedStack("mlflow", {});
    expect(startOrder(stack)).toEqual([["postgres"], ["mlflow"]]);
    const m = stack.services.mlflow!;
    expect(m.image).toBe("ghcr.io/mlflow/mlflow:v3.17.2-full");
    expect(m.dependsOn).toEqual([{ service: "postgres", condition: "service_healthy" }]);
    const cmd = m.command!.join(" ");
    expect(cmd).toContain("--backend-store-uri postgresql+psycopg2://mlflow:mlflow@postgres:5432/mlflow");
    expect(cmd).toContain("--serve-artifacts --artifacts-destination /mlartifacts");
    expect(cmd).toContain("--host 0.0.0.0");
    expect(cmd).toContain("--workers 1");
    expect(cmd).toMatch(/--allowed-hosts \S*127\.0\.0\.1:\*/);
    expect(cmd).toMatch(/--allowed-hosts \S*localhost:\*/);
    expect(m.volumes).toEqual([{ source: "mlartifacts", target: "/mlartifacts", readOnly: false }]);
    expect(m.ports).toEqual([{ hostIp: "127.0.0.1", hostPort: undefined, containerPort: 5000, protocol: "tcp" }]);
    expect(m.httpReady).toEqual({ port: 5000, path: "/health" });
    expect(plan(stack, "p")).toEqual([
      "network p",
      "volume p_pgdata",
      "volume p_mlartifacts",
      "step 1: container p-postgres (postgres:15) wait healthy",
      "step 2: container p-mlflow (ghcr.io/mlflow/mlflow:v3.17.2-full) after postgres healthy ports 127.0.0.1:<free>->5000/tcp wait healthy + GET /health on 5000",
    ]);
  });

  test("mlflow: credentials, port and images come from the environment", () => {
    const stack = loadEmbeddedStack("mlflow", {
      E2E_MLFLOW_DB_USER: "u",
      E2E_MLFLOW_DB_PASSWORD: "p w",
      E2E_MLFLOW_DB_NAME: "d",
      E2E_MLFLOW_PORT: "15000",
      E2E_MLFLOW_IMAGE: "e2e-local/mlflow:3.17.2",
      E2E_POSTGRES_IMAGE: "e2e-local/postgres:15",
    });
    expect(stack.services.postgres!.environment).toMatchObject({ POSTGRES_USER: "u", POSTGRES_PASSWORD: "p w", POSTGRES_DB: "d" });
    expect(stack.services.mlflow!.command).toContain("postgresql+psycopg2://u:p w@postgres:5432/d");
    expect(stack.services.mlflow!.ports[0]!.hostPort).toBe(15000);
    expect(stackImages(stack)).toEqual(["e2e-local/postgres:15", "e2e-local/mlflow:3.17.2"]);
    // $$ in the health check reaches the container as a literal $ for its shell.
    expect(stack.services.postgres!.healthcheck!.test[1]).toContain('"$POSTGRES_USER"');
  });

  test("clearml: the documented services, apiserver waits for its backends' health", () => {
    const stack = loadEmbeddedStack("clearml", {});
    expect(Object.keys(stack.services).sort()).toEqual(["apiserver", "elasticsearch", "fileserver", "mongo", "redis", "webserver"]);
    expect(startOrder(stack)).toEqual([["redis", "mongo", "elasticsearch", "fileserver"], ["apiserver"], ["webserver"]]);
    const api = stack.services.apiserver!;
    expect(api.dependsOn.every((d) => d.condition === "service_healthy")).toBe(true);
    expect(api.healthcheck!.test.join(" ")).toContain("/debug.ping");
    expect(api.httpReady).toEqual({ port: 8008, path: "/debug.ping" });
    expect(stack.services.fileserver!.healthcheck!.test.join(" ")).toContain("127.0.0.1:8081/");
    expect(api.environment.CLEARML__secure__credentials__services_agent__user_key).toBeTruthy();
    // "${VAR:--Xms1g -Xmx1g}": a default that itself starts with '-'.
    expect(stack.services.elasticsearch!.environment.ES_JAVA_OPTS).toBe("-Xms1g -Xmx1g");
    expect(stack.services.elasticsearch!.environment["discovery.type"]).toBe("single-node");
    const ports = Object.values(stack.services).flatMap((s) => s.ports.map((p) => `${s.name}:${p.containerPort}`));
    expect(ports.sort()).toEqual(["apiserver:8008", "fileserver:8081", "webserver:80"]);
  });

  test("wandb: the license is required up front, with the fix", () => {
    expect(() => loadEmbeddedStack("wandb", {})).toThrow(/E2E_WANDB_LICENSE is required: W&B Server needs a license/);
    const s = loadEmbeddedStack("wandb", LICENSED).services.wandb!;
    expect(s.environment.LICENSE).toBe("test-license");
    expect(s.httpReady).toEqual({ port: 8080, path: "/ready" });
    expect(s.volumes[0]).toEqual({ source: "wandb", target: "/vol", readOnly: false });
  });

  test("images of every stack can be listed without the license (images save)", () => {
    expect(embeddedStackImages("wandb", {})).toEqual(["wandb/local:latest"]);
    expect(loadEmbeddedStack("wandb", {}, { lenient: true }).services.wandb!.environment.LICENSE).toBe("<missing:E2E_WANDB_LICENSE>");
    expect(embeddedStackImages("mlflow", { E2E_MLFLOW_IMAGE: "m:1", E2E_POSTGRES_IMAGE: "p:1" })).toEqual(["p:1", "m:1"]);
    expect(embeddedStackImages("clearml", {})).toEqual([
      "redis:7.4",
      "mongo:7.0",
      "docker.elastic.co/elasticsearch/elasticsearch:8.17.0",
      "allegroai/clearml:latest",
    ]);
  });
});

const base = (svc: string, extraTop = "") => `services:\n  x:\n    image: busybox\n${svc}${extraTop}`;
const parse = (text: string, env: Record<string, string> = {}) => parseCompose(text, { file: "t.yml", env });

describe("refusals", () => {
  test("a key outside the subset names file, service, key and the supported list", () => {
    expect(() => parse(base("    privileged: true\n"))).toThrow(
      "compose: t.yml: service x: key 'privileged' is not supported (supported: image, command, entrypoint, environment, ports, volumes, depends_on, healthcheck, restart, networks, x-e2e-ready)",
    );
    expect(() => parse(base("    build: .\n"))).toThrow(/key 'build' is not supported/);
    expect(() => parse(base("    container_name: foo\n"))).toThrow(/key 'container_name' is not supported/);
  });
  test("top-level keys outside the subset", () => {
    expect(() => parse(base("", "configs:\n  a: {}\n"))).toThrow("compose: t.yml: top-level key 'configs' is not supported (supported: name, services, volumes, networks, x-*)");
    expect(() => parse(base("", "networks:\n  backend: {}\n"))).toThrow(/only 'default'/);
  });
  test("ports that are not loopback-only", () => {
    for (const p of ["5000", "5000:5000", "0.0.0.0:5000:5000", "0.0.0.0::5000", "::1::5000", "127.0.0.2::5000", "127.0.0.1:5000"]) {
      expect(() => parse(base(`    ports: ["${p}"]\n`))).toThrow(/ports must be published on loopback only/);
    }
    expect(() => parse(base("    ports:\n      - target: 80\n        published: 8080\n"))).toThrow(/short syntax/);
    expect(() => parse(base('    ports: ["127.0.0.1:70000:80"]\n'))).toThrow(/out of range/);
  });
  test("ports accepted", () => {
    const s = parse(base('    ports: ["127.0.0.1::80", "127.0.0.1:8080:81/udp", "127.0.0.1:${P:-}:82"]\n')).services.x!;
    expect(s.ports).toEqual([
      { hostIp: "127.0.0.1", hostPort: undefined, containerPort: 80, protocol: "tcp" },
      { hostIp: "127.0.0.1", hostPort: 8080, containerPort: 81, protocol: "udp" },
      { hostIp: "127.0.0.1", hostPort: undefined, containerPort: 82, protocol: "tcp" },
    ]);
  });
  test("bind mounts and undeclared volumes", () => {
    expect(() => parse(base("    volumes: ['/etc:/x']\n"))).toThrow(/bind mounts are not supported/);
    expect(() => parse(base("    volumes: ['./data:/x']\n"))).toThrow(/bind mounts are not supported/);
    expect(() => parse(base("    volumes: ['data:/x']\n"))).toThrow(/volume 'data' is not declared/);
    expect(() => parse(base("    volumes: ['data:/x']\n", "volumes:\n  data:\n    driver: nfs\n"))).toThrow(/options are not supported/);
    expect(parse(base("    volumes: ['data:/x:ro']\n", "volumes:\n  data:\n")).services.x!.volumes).toEqual([{ source: "data", target: "/x", readOnly: true }]);
  });
  test("depends_on: unknown service, unsupported condition, healthy without a health check, cycles", () => {
    expect(() => parse(base("    depends_on: [y]\n"))).toThrow(/unknown service 'y'/);
    expect(() => parse(`services:\n  a:\n    image: i\n    depends_on:\n      b:\n        condition: service_completed_successfully\n  b:\n    image: i\n`)).toThrow(
      /condition 'service_completed_successfully' is not supported/,
    );
    expect(() => parse(`services:\n  a:\n    image: i\n    depends_on:\n      b:\n        condition: service_healthy\n  b:\n    image: i\n`)).toThrow(/has no healthcheck/);
    expect(() => parse(`services:\n  a:\n    image: i\n    depends_on: [b]\n  b:\n    image: i\n    depends_on: [a]\n`)).toThrow(/cycle among: a, b/);
  });
  test("healthcheck keys and forms", () => {
    expect(() => parse(base("    healthcheck:\n      test: ['CMD', 'true']\n      disable: true\n"))).toThrow(/healthcheck: key 'disable' is not supported/);
    expect(() => parse(base("    healthcheck:\n      test: ['NONE']\n"))).toThrow(/test must be/);
    const h = parse(base("    healthcheck:\n      test: curl -f http://x/\n      interval: 1m30s\n      timeout: 500ms\n      retries: 4\n      start_period: 10s\n")).services.x!.healthcheck;
    expect(h).toEqual({ test: ["CMD-SHELL", "curl -f http://x/"], intervalMs: 90_000, timeoutMs: 500, retries: 4, startPeriodMs: 10_000 });
  });
  test("image required, restart validated, networks only default", () => {
    expect(() => parse("services:\n  x:\n    command: [a]\n")).toThrow(/image is required/);
    expect(() => parse(base("    restart: sometimes\n"))).toThrow(/restart: invalid value/);
    expect(parse(base("    restart: unless-stopped\n    networks: [default]\n")).services.x!.restart).toBe("unless-stopped");
    expect(() => parse(base("    networks: [backend]\n"))).toThrow(/only 'default'/);
  });
  test("invalid YAML is a compose error naming the file", () => {
    expect(() => parse("services: [\n")).toThrow(/compose: t.yml: invalid YAML/);
  });
});

describe("interpolation", () => {
  const env = { A: "a", EMPTY: "" };
  test("forms", () => {
    expect(interpolate("${A}", env)).toBe("a");
    expect(interpolate("$A-x", env)).toBe("a-x");
    expect(interpolate("${B}", env)).toBe("");
    expect(interpolate("${B:-def}", env)).toBe("def");
    expect(interpolate("${EMPTY:-def}", env)).toBe("def");
    expect(interpolate("${EMPTY-def}", env)).toBe("");
    expect(interpolate("${B-def}", env)).toBe("def");
    expect(interpolate("${B:-${A}x}", env)).toBe("ax");
    expect(interpolate("${B:--Xms1g}", env)).toBe("-Xms1g");
    expect(interpolate("$$A and $${A}", env)).toBe("$A and ${A}");
    expect(interpolate("127.0.0.1:${P:-}:5000", env)).toBe("127.0.0.1::5000");
  });
  test("required variables", () => {
    expect(() => interpolate("${B:?set B please}", env, "w")).toThrow("w: B is required: set B please");
    expect(() => interpolate("${EMPTY:?x}", env)).toThrow(/EMPTY is required/);
    expect(interpolate("${EMPTY?x}", env)).toBe("");
    expect(() => interpolate("${B?}", env)).toThrow(/B is required: set it in the environment/);
  });
  test("malformed", () => {
    expect(() => interpolate("${A", env)).toThrow(/unterminated/);
    expect(() => interpolate("${1A}", env)).toThrow(/invalid interpolation/);
    expect(() => interpolate("cost $5", env)).toThrow(/write \$\$ for a literal \$/);
  });
  test("applies to every value of a file, environment included, but not to x- extension fields", () => {
    const s = parse(
      "x-tpl: &img ${UNSET_IS_FINE_HERE:?never evaluated}\nservices:\n  x:\n    image: ${IMG:-busybox}\n    environment:\n      K: ${A}\n      L: 3\n    command: echo \"a b\" 'c d' e\n",
      { A: "from-env" },
    ).services.x!;
    expect(s.image).toBe("busybox");
    expect(s.environment).toEqual({ K: "from-env", L: "3" });
    expect(s.command).toEqual(["echo", "a b", "c d", "e"]);
  });
});

describe("helpers", () => {
  test("durations", () => {
    expect(parseDuration("1h2m3s", "w")).toBe(3_723_000);
    expect(parseDuration("2.5s", "w")).toBe(2500);
    expect(parseDuration(5, "w")).toBe(5000);
    expect(() => parseDuration("soon", "w")).toThrow(/duration/);
  });
  test("shell split", () => {
    expect(shellSplit(`a "b \\"c\\"" 'd e' f\\ g`, "w")).toEqual(["a", 'b "c"', "d e", "f g"]);
    expect(() => shellSplit(`a "b`, "w")).toThrow(/unterminated/);
  });
});
