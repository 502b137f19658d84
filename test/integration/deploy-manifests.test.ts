import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../../src/config/load-config.js";
import type { GatewayConfig } from "../../src/config/schema.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/log/logger.js";

// What the deploy/ manifests say must agree with the code: the probes answer on the gateway the
// ConfigMap's config starts, the grace period outlasts the drain, the names point at each other.
const DEPLOY = join(import.meta.dirname, "..", "..", "deploy");
const K8S = join(DEPLOY, "kubernetes");

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML, checked field by field below.
type Manifest = any;
const manifests: Manifest[] = readdirSync(K8S)
  .filter((file) => file.endsWith(".yaml") && file !== "kustomization.yaml")
  .flatMap((file) => parseAllDocuments(readFileSync(join(K8S, file), "utf8")).map((doc) => doc.toJS()));
const find = (kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return found;
};

const deployment = find("Deployment", "weaver-gateway");
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const secret = find("Secret", "weaver-gateway-provider-keys");
const configText: string = find("ConfigMap", "weaver-gateway-config").data["gateway.yaml"];

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
/** The gateway's own loading of a config file: the schema, and what it names outside itself. */
function load(text: string, env: NodeJS.ProcessEnv): GatewayConfig {
  const dir = mkdtempSync(join(tmpdir(), "weaver-deploy-"));
  dirs.push(dir);
  const file = join(dir, "gateway.yaml");
  writeFileSync(file, text);
  return loadConfig({ file, env });
}
const secretEnv = (): NodeJS.ProcessEnv => ({ ...secret.stringData });

describe("deploy/kubernetes", () => {
  const config = load(configText, secretEnv());

  it("lists every manifest in its kustomization", () => {
    const kustomization = parse(readFileSync(join(K8S, "kustomization.yaml"), "utf8"));
    const files = readdirSync(K8S).filter((file) => file.endsWith(".yaml") && file !== "kustomization.yaml");
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it("mounts a config the gateway accepts, with every key variable it names in the Secret", () => {
    const mount = container.volumeMounts.find((m: Manifest) => m.name === "config");
    const weaverConfig = container.env.find((e: Manifest) => e.name === "WEAVER_CONFIG").value;
    expect(weaverConfig).toBe(`${mount.mountPath}/gateway.yaml`);
    expect(container.envFrom[0].secretRef.name).toBe(secret.metadata.name);
    const named = Object.values(config.providers).flatMap((p) =>
      "api_key_env" in p && p.api_key_env ? [p.api_key_env] : [],
    );
    expect(named.length).toBeGreaterThan(0);
    for (const variable of named) expect(Object.keys(secret.stringData)).toContain(variable);
  });

  it("probes paths the gateway serves, on the port the config listens on", async () => {
    const port = container.ports.find((p: Manifest) => p.name === "http");
    expect(port.containerPort).toBe(config.server.port);
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    // The ConfigMap's gateway itself, on a free port, its providers pointed at a closed one.
    const env = {
      ...secretEnv(),
      PORT: "0",
      OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9",
    };
    const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
    const gateway: Gateway = await startGateway(load(configText, env), {
      logger: createLogger({ LOG_LEVEL: "silent" }, quiet),
      env,
    });
    try {
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        const response = await fetch(`${gateway.url}${probe.httpGet.path}`);
        expect(response.status).toBe(200);
      }
    } finally {
      await gateway.close();
    }
  });

  it("gives the drain time to finish: grace period > preStop wait + drain_timeout", () => {
    const preStop = container.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe("sleep");
    const waitMs = Number(preStop[1]) * 1000;
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(waitMs + config.server.drain_timeout);
  });

  it("runs as a non-root user on a read-only root filesystem", () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: expect.any(Number) });
    expect(pod.securityContext.runAsUser).not.toBe(0);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    // The image's `node` user, whose uid runAsUser names.
    expect(readFileSync(join(DEPLOY, "..", "Dockerfile"), "utf8")).toMatch(/^USER node$/m);
    expect(container.resources.limits.memory).toBeDefined();
  });

  it("serves gRPC per request: both Services target the pods' port as h2c; the headless one has no cluster IP", () => {
    const labels = deployment.spec.template.metadata.labels;
    for (const name of ["weaver-gateway", "weaver-gateway-headless"]) {
      const service = find("Service", name);
      expect(service.spec.selector).toEqual(labels);
      expect(service.spec.ports).toEqual([
        expect.objectContaining({ targetPort: "http", appProtocol: "kubernetes.io/h2c" }),
      ]);
    }
    expect(find("Service", "weaver-gateway-headless").spec.clusterIP).toBe("None");
  });

  it("scales and protects the Deployment it names, and points the store at the Redis Service", () => {
    const hpa = find("HorizontalPodAutoscaler", "weaver-gateway");
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    const pdb = find("PodDisruptionBudget", "weaver-gateway");
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    const redis = new URL(config.store.redis?.url ?? "");
    const service = find("Service", redis.hostname);
    expect(service.spec.ports[0].port).toBe(Number(redis.port));
  });
});

describe("deploy/compose.yaml", () => {
  const compose = parse(readFileSync(join(DEPLOY, "compose.yaml"), "utf8"), { merge: true });
  const config = load(readFileSync(join(DEPLOY, "compose", "gateway.yaml"), "utf8"), {});

  it("runs two replicas of the image on the config the gateway accepts, sharing the compose Redis", () => {
    const replicas = ["gateway-a", "gateway-b"].map((name) => compose.services[name]);
    for (const replica of replicas) {
      expect(replica.volumes).toContain("./compose/gateway.yaml:/etc/weaver-gateway/gateway.yaml:ro");
      expect(replica.environment.WEAVER_CONFIG).toBe("/etc/weaver-gateway/gateway.yaml");
      expect(replica.ports[0]).toMatch(new RegExp(`:${config.server.port}$`));
      expect(Number.parseInt(replica.stop_grace_period, 10) * 1000).toBeGreaterThan(
        config.server.drain_timeout,
      );
    }
    expect(new URL(config.store.redis?.url ?? "").hostname).toBe("redis");
    expect(compose.services.redis).toBeDefined();
  });

  it("has Prometheus scrape both replicas where they serve /metrics", () => {
    const prometheus = parse(readFileSync(join(DEPLOY, "compose", "prometheus.yml"), "utf8"));
    expect(prometheus.scrape_configs[0].static_configs[0].targets).toEqual([
      `gateway-a:${config.server.port}`,
      `gateway-b:${config.server.port}`,
    ]);
  });
});
