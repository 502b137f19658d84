import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { DeploymentHealth } from "../../src/router/deployment-health.js";

const POLICY = { allowedFailures: 3, cooldownMs: 30_000 };
const T0 = 1_000;

const unavailable = () => new GatewayError("unavailable", "HTTP 503", { retryable: true, status: 503 });
const rateLimited = (retryAfterMs?: number) =>
  new GatewayError("resource_exhausted", "HTTP 429", { retryable: true, status: 429, retryAfterMs });
const badRequest = () => new GatewayError("invalid_argument", "HTTP 400", { status: 400 });
const cancelled = () => new GatewayError("cancelled", "caller went away");

/** Starts a request and lets it fail with `error` at `now`; true when that started a cooldown. */
function failOnce(health: DeploymentHealth, error: GatewayError | undefined, now = T0): boolean {
  health.start();
  return health.fail(error, now);
}

/** A deployment just put in a cooldown at T0 by `allowedFailures` 503s. */
function cooledDown(): DeploymentHealth {
  const health = new DeploymentHealth(POLICY, undefined);
  for (let i = 0; i < POLICY.allowedFailures; i++) failOnce(health, unavailable());
  return health;
}

describe("DeploymentHealth", () => {
  it("counts requests in flight and in total", () => {
    const health = new DeploymentHealth(POLICY, undefined);
    health.start();
    health.start();
    expect(health.inFlight).toBe(2);
    health.succeed();
    health.fail(unavailable(), T0);
    expect(health).toMatchObject({ inFlight: 0, requestsTotal: 2, failuresTotal: 1, consecutiveFailures: 1 });
  });

  it("stays in rotation until allowed_failures retryable failures in a row, then cools down", () => {
    const health = new DeploymentHealth(POLICY, undefined);
    expect(failOnce(health, unavailable())).toBe(false);
    expect(failOnce(health, unavailable())).toBe(false);
    expect(health.available(T0)).toBe(true);
    expect(health.state(T0)).toBe("healthy");
    expect(failOnce(health, unavailable())).toBe(true);
    expect(health.available(T0)).toBe(false);
    expect(health.available(T0 + POLICY.cooldownMs - 1)).toBe(false);
    expect(health.state(T0 + 10)).toBe("cooling_down");
    expect(health.cooldownRemainingMs(T0)).toBe(POLICY.cooldownMs);
    expect(health.cooldownRemainingMs(T0 + 10_000)).toBe(POLICY.cooldownMs - 10_000);
    expect(health.consecutiveFailures).toBe(3);
  });

  it("forgets failures once a request succeeds", () => {
    const health = new DeploymentHealth(POLICY, undefined);
    failOnce(health, unavailable());
    failOnce(health, unavailable());
    health.start();
    health.succeed();
    expect(health.consecutiveFailures).toBe(0);
    expect(failOnce(health, unavailable())).toBe(false);
    expect(failOnce(health, unavailable())).toBe(false);
    expect(health.available(T0)).toBe(true);
    expect(health.failuresTotal).toBe(4);
  });

  it("does not count the caller's mistakes or cancels against the deployment", () => {
    const health = new DeploymentHealth(POLICY, undefined);
    for (let i = 0; i < 5; i++) {
      expect(failOnce(health, badRequest())).toBe(false);
      expect(failOnce(health, cancelled())).toBe(false);
      expect(failOnce(health, undefined)).toBe(false);
    }
    expect(health).toMatchObject({
      inFlight: 0,
      consecutiveFailures: 0,
      failuresTotal: 0,
      requestsTotal: 15,
    });
    expect(health.available(T0)).toBe(true);
    expect(health.state(T0)).toBe("healthy");
  });

  it("cools down at once, for exactly as long, on a 429 with retry-after", () => {
    const health = new DeploymentHealth(POLICY, undefined);
    expect(failOnce(health, rateLimited(1_000))).toBe(true);
    expect(health.cooldownRemainingMs(T0)).toBe(1_000);
    expect(health.available(T0 + 999)).toBe(false);
    expect(health.state(T0 + 999)).toBe("cooling_down");
    expect(health.available(T0 + 1_000)).toBe(true);
  });

  it("honours a retry-after shorter than the configured cooldown", () => {
    const health = new DeploymentHealth(POLICY, undefined);
    expect(failOnce(health, rateLimited(250))).toBe(true);
    expect(health.cooldownRemainingMs(T0)).toBe(250);
    expect(health.available(T0 + 250)).toBe(true);
  });

  it("counts a 429 without retry-after as an ordinary failure", () => {
    const health = new DeploymentHealth(POLICY, undefined);
    expect(failOnce(health, rateLimited())).toBe(false);
    expect(health.available(T0)).toBe(true);
    expect(health.consecutiveFailures).toBe(1);
  });

  it("lets exactly one probe through after the cooldown, holding back the rest while it runs", () => {
    const health = cooledDown();
    const after = T0 + POLICY.cooldownMs;
    expect(health.available(after)).toBe(true);
    expect(health.state(after)).toBe("probing");
    expect(health.cooldownRemainingMs(after)).toBe(0);
    health.start(); // the probe
    expect(health.available(after)).toBe(false);
    expect(health.available(after + 60_000)).toBe(false);
    expect(health.state(after)).toBe("probing");
  });

  it("comes back to rotation when the probe succeeds", () => {
    const health = cooledDown();
    const after = T0 + POLICY.cooldownMs;
    health.start();
    health.succeed();
    expect(health.state(after)).toBe("healthy");
    expect(health.consecutiveFailures).toBe(0);
    health.start();
    expect(health.available(after)).toBe(true);
  });

  it("cools down again, for a whole cooldown, when the probe fails", () => {
    const health = cooledDown();
    const after = T0 + POLICY.cooldownMs;
    health.start();
    expect(health.fail(unavailable(), after + 5)).toBe(true);
    expect(health.available(after + 5)).toBe(false);
    expect(health.state(after + 5)).toBe("cooling_down");
    expect(health.cooldownRemainingMs(after + 5)).toBe(POLICY.cooldownMs);
    // And again a single probe after that.
    const later = after + 5 + POLICY.cooldownMs;
    expect(health.available(later)).toBe(true);
    health.start();
    expect(health.available(later)).toBe(false);
  });

  it("lets another request probe when the probe ended through no fault of the deployment", () => {
    const health = cooledDown();
    const after = T0 + POLICY.cooldownMs;
    health.start();
    expect(health.fail(cancelled(), after)).toBe(false);
    expect(health.available(after)).toBe(true);
    expect(health.state(after)).toBe("probing");
    health.start();
    expect(health.available(after)).toBe(false);
  });

  it("is unavailable at its max_concurrent limit, and available again below it", () => {
    const health = new DeploymentHealth(POLICY, 2);
    health.start();
    expect(health.available(T0)).toBe(true);
    health.start();
    expect(health.available(T0)).toBe(false);
    expect(health.state(T0)).toBe("healthy");
    health.succeed();
    expect(health.available(T0)).toBe(true);
  });
});
