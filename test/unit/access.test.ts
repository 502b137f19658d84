import fc from "fast-check";
import { describe, expect, it, test } from "vitest";
import { CallerKeys, keyHash, newCallerKey, presentedKey } from "../../src/access/caller-keys.js";
import { modelPatterns } from "../../src/access/model-patterns.js";
import { costOf, priceOf } from "../../src/access/prices.js";
import { daysBetween, windowsAt } from "../../src/access/quota-windows.js";
import { ConfigError, parseConfig } from "../../src/config/load-config.js";
import { GatewayError } from "../../src/errors/gateway-error.js";

describe("the key a caller presents", () => {
  test("is the Bearer token of authorization (any case, any spacing), else x-api-key", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[!-~]+$/),
        fc.constantFrom("Bearer", "bearer", "BEARER"),
        fc.constantFrom(" ", "  ", "\t"),
        (token, scheme, gap) => {
          expect(presentedKey({ authorization: `${scheme}${gap}${token}` })).toBe(token);
          expect(presentedKey({ authorization: `${scheme} ${token}`, "x-api-key": "other" })).toBe(token);
          expect(presentedKey({ "x-api-key": token })).toBe(token);
        },
      ),
    );
    expect(presentedKey({})).toBeUndefined();
    expect(presentedKey({ authorization: "Basic dXNlcjpwYXNz" })).toBeUndefined();
    expect(presentedKey({ authorization: "Bearer two words" })).toBeUndefined();
    expect(presentedKey({ "x-api-key": "  " })).toBeUndefined();
  });

  test("new keys are distinct, 256 bits after their prefix, and their hash is 64 hex digits", () => {
    const keys = new Set(Array.from({ length: 100 }, newCallerKey));
    expect(keys.size).toBe(100);
    for (const key of keys) {
      expect(key).toMatch(/^wgk_[A-Za-z0-9_-]{43}$/);
      expect(keyHash(key)).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

describe("CallerKeys", () => {
  const key = newCallerKey();
  const config = parseConfig({
    keys: [{ name: "app", sha256: keyHash(key).toUpperCase(), models: ["demo"], expires: "2027-06-30" }],
  }).keys;
  const reasonOf = (work: () => unknown) => {
    try {
      work();
    } catch (error) {
      expect(error).toBeInstanceOf(GatewayError);
      return {
        kind: (error as GatewayError).kind,
        reason: (error as GatewayError).reason,
        message: (error as GatewayError).message,
      };
    }
    throw new Error("expected a refusal");
  };

  it("finds a key by its hash, whatever the case the config wrote it in, until the start of its expiry day (UTC)", () => {
    const beforeExpiry = new CallerKeys(config, () => Date.UTC(2027, 5, 29, 23, 59));
    expect(beforeExpiry.authenticate(key)?.name).toBe("app");
    const atExpiry = new CallerKeys(config, () => Date.UTC(2027, 5, 30));
    expect(reasonOf(() => atExpiry.authenticate(key))).toMatchObject({
      kind: "unauthenticated",
      reason: "KEY_EXPIRED",
    });
  });

  it("refuses a missing or unknown key, and never repeats it", () => {
    const keys = new CallerKeys(config, () => 0);
    expect(reasonOf(() => keys.authenticate(undefined))).toMatchObject({ reason: "KEY_MISSING" });
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (presented) => {
        fc.pre(presented !== key);
        const refusal = reasonOf(() => keys.authenticate(presented));
        expect(refusal).toMatchObject({ kind: "unauthenticated", reason: "KEY_INVALID" });
        expect(refusal.message).toBe("the key presented is not valid");
      }),
    );
  });

  it("lets every call in, with no key, when none is configured", () => {
    const open = new CallerKeys([]);
    expect(open.open).toBe(true);
    expect(open.authenticate(undefined)).toBeUndefined();
    expect(open.authenticate("anything")).toBeUndefined();
  });
});

describe("model patterns", () => {
  test("a glob without wildcards matches only itself, regular-expression characters and all", () => {
    fc.assert(
      fc.property(
        fc.string().filter((name) => !/[*?]/.test(name)),
        fc.string({ minLength: 1 }),
        (name, extra) => {
          const patterns = modelPatterns([name]);
          expect(patterns.allows([name])).toBe(true);
          expect(patterns.allows([name + extra])).toBe(false);
        },
      ),
    );
  });

  test("* matches any run of characters, slashes and newlines too; ? one character", () => {
    fc.assert(fc.property(fc.string(), (name) => modelPatterns(["*"]).allows([name])));
    const gpt = modelPatterns(["gpt-4o*", "openai/*", "o?"]);
    expect(gpt.allows(["gpt-4o"])).toBe(true);
    expect(gpt.allows(["gpt-4o-mini"])).toBe(true);
    expect(gpt.allows(["openai/gpt-5/nested"])).toBe(true);
    expect(gpt.allows(["o3"])).toBe(true);
    expect(gpt.allows(["gpt-4"])).toBe(false);
    expect(gpt.allows(["o3-mini"])).toBe(false);
    expect(gpt.allows(["fast", "gpt-4o-mini"])).toBe(true);
    expect(modelPatterns([]).allows(["anything"])).toBe(false);
  });
});

describe("prices and cost", () => {
  test("a deployment's own price wins; a known model's dated snapshot takes the model's shipped price", () => {
    expect(priceOf("gpt-4o-mini-2024-07-18", undefined)).toEqual(priceOf("gpt-4o-mini", undefined));
    expect(priceOf("claude-haiku-4-5-20251001", undefined)).toEqual({
      input: 1,
      cached_input: 0.1,
      output: 5,
    });
    expect(priceOf("gpt-4o-mini", { input: 9, output: 9 })).toEqual({ input: 9, output: 9 });
    expect(priceOf("llama-3-70b", undefined)).toBeUndefined();
  });

  test("cached input at its own price, the rest of the input and the output at theirs; no price is 0, said so", () => {
    const price = { input: 2, output: 8, cached_input: 0.5 };
    expect(costOf({ inputTokens: 1000, outputTokens: 100, cachedInputTokens: 400 }, price).usd).toBeCloseTo(
      (600 * 2 + 400 * 0.5 + 100 * 8) / 1e6,
      15,
    );
    expect(costOf({ inputTokens: 10, outputTokens: 0, cachedInputTokens: 50 }, price).usd).toBeCloseTo(
      (10 * 0.5) / 1e6,
      15,
    );
    expect(costOf({ inputTokens: 10, outputTokens: 10 }, { input: 1, output: 1 }).usd).toBeCloseTo(
      20 / 1e6,
      15,
    );
    expect(costOf({ inputTokens: 10, outputTokens: 10 }, undefined)).toEqual({ usd: 0, priced: false });
  });
});

describe("quota windows", () => {
  test("name the UTC minute, day and month, and how long each has left", () => {
    const now = Date.UTC(2026, 11, 31, 23, 59, 30, 250);
    expect(windowsAt(now)).toEqual({
      minute: "2026-12-31T23:59",
      day: "2026-12-31",
      month: "2026-12",
      untilMinuteEnd: 29_750,
      untilDayEnd: 29_750,
      untilMonthEnd: 29_750,
    });
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }), (at) => {
        const w = windowsAt(at);
        expect(windowsAt(at + w.untilMinuteEnd).minute).not.toBe(w.minute);
        expect(windowsAt(at + w.untilMinuteEnd - 1).minute).toBe(w.minute);
        expect(windowsAt(at + w.untilDayEnd - 1).day).toBe(w.day);
        expect(windowsAt(at + w.untilMonthEnd).month).not.toBe(w.month);
      }),
    );
  });

  test("a usage range is its days, the latest kept when it is too long", () => {
    expect(daysBetween("2026-02-27", "2026-03-02", 10)).toEqual([
      "2026-02-27",
      "2026-02-28",
      "2026-03-01",
      "2026-03-02",
    ]);
    expect(daysBetween("2026-01-01", "2026-12-31", 2)).toEqual(["2026-12-30", "2026-12-31"]);
    expect(daysBetween("2026-03-02", "2026-03-01", 10)).toEqual([]);
  });
});

describe("the keys section of the config", () => {
  const problemsOf = (document: unknown) => {
    try {
      parseConfig(document);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
    throw new Error("expected the config to be refused");
  };
  const hash = "0".repeat(64);

  test("names every mistake at once, by its path", () => {
    expect(
      problemsOf({
        server: { require_keys: true },
        keys: [
          { name: "a b", sha256: "not-hex" },
          {
            name: "ok",
            sha256: hash,
            expires: "June",
            limits: { requests_per_minute: 0, budget_usd: { amount: 5, per: "week" } },
          },
          { name: "ok", sha256: hash },
        ],
      }),
    ).toEqual([
      "keys[0].name: must be 1-64 letters, digits, dots, dashes or underscores",
      "keys[0].sha256: must be the key's SHA-256 as 64 hex digits (`npx weaver-gateway keys new` prints it)",
      'keys[1].expires: must be a date like 2027-06-30, or a time like "2027-06-30T12:00:00Z"',
      "keys[1].limits.requests_per_minute: Too small: expected number to be >0",
      'keys[1].limits.budget_usd.per: Invalid option: expected one of "day"|"month"',
    ]);
    expect(
      problemsOf({
        keys: [
          { name: "ok", sha256: hash },
          { name: "ok", sha256: hash.replace(/0$/, "1") },
        ],
      }),
    ).toEqual(["keys[1].name: the same name as keys[0]"]);
  });

  test("require_keys needs a key, protect_admin an admin key", () => {
    expect(problemsOf({ server: { require_keys: true } })).toEqual([
      "keys: server.require_keys is on, and no key is configured",
    ]);
    expect(problemsOf({ server: { protect_admin: true }, keys: [{ name: "app", sha256: hash }] })).toEqual([
      "server.protect_admin: is on, and no key has the admin role: /metrics, PoolStats and ListModels would be closed to everyone",
    ]);
  });
});
