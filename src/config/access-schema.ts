import { z } from "zod";
import { duration } from "./duration.js";

/** Caller keys and where shared state lives: the config's `keys` and `store` sections. */

/** A key's name is what logs, metrics and usage show of it: short, and safe as a metric label. */
const keyName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1-64 letters, digits, dots, dashes or underscores");

export const LimitsSchema = z
  .object({
    /** Calls started per calendar minute (UTC), on every replica together. Default: no limit. */
    requests_per_minute: z.number().int().positive().optional(),
    /** Input plus output tokens per calendar minute, as the providers reported them. Default: no limit. */
    tokens_per_minute: z.number().int().positive().optional(),
    /** Calls running at once. Default: no limit. */
    concurrent: z.number().int().positive().optional(),
    /** Spend per calendar day or month (UTC), in USD, priced per deployment. Default: no limit. */
    budget_usd: z.strictObject({ amount: z.number().positive(), per: z.enum(["day", "month"]) }).optional(),
  })
  .strict();

/** "2027-06-30" (the key stops working at that day's start, UTC) or an ISO time with its offset. */
const expiry = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })], {
    error: 'must be a date like 2027-06-30, or a time like "2027-06-30T12:00:00Z"',
  })
  .transform((text) => Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text));

export const CallerKeySchema = z
  .object({
    name: keyName,
    /** SHA-256 of the key, as 64 hex digits: the key itself is never in the file. */
    sha256: z
      .string()
      .regex(
        /^[0-9a-fA-F]{64}$/,
        "must be the key's SHA-256 as 64 hex digits (`npx weaver-gateway keys new` prints it)",
      )
      .transform((hex) => hex.toLowerCase()),
    /** Globs (`*`, `?`) over the model names and aliases the key may call. Default: every model. */
    models: z.array(z.string().min(1)).optional(),
    /** `admin` reads /metrics, PoolStats, ListModels, health, reflection and everyone's usage when `server.protect_admin` is on. */
    roles: z.array(z.enum(["admin"])).default([]),
    expires: expiry.optional(),
    limits: LimitsSchema.default({}),
  })
  .strict();

export const StoreSchema = z
  .object({
    /** Quota counters and usage in Redis, shared by every replica that names the same server. Default: in process. */
    redis: z
      .object({
        url: z
          .string()
          .regex(/^rediss?:\/\/./, 'must be a redis:// or rediss:// URL, e.g. "redis://127.0.0.1:6379"'),
        /** Prefix of every Redis key the gateway writes, so that gateways can share a server. Default "weaver:". */
        key_prefix: z.string().default("weaver:"),
        /** Longest wait for Redis on a call's way in or out. Default 250ms. */
        timeout: duration.default(250),
        /**
         * While Redis cannot be reached: `open` serves calls without quotas (a warning and
         * weaver_store_errors_total say so), `closed` refuses them UNAVAILABLE. Default open.
         */
        when_unreachable: z.enum(["open", "closed"]).default("open"),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Key names and hashes are each unique: a name is how usage is told apart, a hash how a key is found. */
export const KeysSchema = z.array(CallerKeySchema).superRefine((keys, ctx) => {
  for (const field of ["name", "sha256"] as const) {
    const seen = new Map<string, number>();
    keys.forEach((key, i) => {
      const first = seen.get(key[field]);
      if (first !== undefined)
        ctx.addIssue({ code: "custom", path: [i, field], message: `the same ${field} as keys[${first}]` });
      else seen.set(key[field], i);
    });
  }
});

export type CallerKeyConfig = z.output<typeof CallerKeySchema>;
export type LimitsConfig = z.output<typeof LimitsSchema>;
export type StoreConfig = z.output<typeof StoreSchema>;
