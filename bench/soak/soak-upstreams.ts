import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ChaosUpstream, startChaosUpstream } from "../../test/support/chaos/chaos-upstream.js";
import type { Fault } from "../../test/support/chaos/fault.js";
import { NORMAL_CASE, type ProviderName } from "./call-mix.js";

/**
 * The two chaos upstreams the soak's gateway sends to (OpenAI wire over HTTP/2, Anthropic wire
 * over HTTP/1.1), the case ids faults are planned under, and what the upstreams saw of each call.
 */

export interface UpstreamTally {
  /** Requests the upstreams received for planned calls (retries included). */
  requests: number;
  /** Calls whose upstream received a request after it had answered one with 200. */
  callsSentTwice: number;
}

/** One planned call's hold on a case id; `release` once the RPC has ended. */
export interface CaseLease {
  model: string;
  release(): void;
}

export class SoakUpstreams {
  readonly tally: UpstreamTally = { requests: 0, callsSentTwice: 0 };
  /** Free case ids, oldest first: an id is reused only after every other free one. */
  private readonly free: string[] = [];
  private created = 0;

  private constructor(private readonly byProvider: Record<ProviderName, ChaosUpstream>) {}

  static async start(): Promise<SoakUpstreams> {
    const [openai, anthropic] = await Promise.all([
      startChaosUpstream({ wire: "openai", transport: "h2" }),
      startChaosUpstream({ wire: "anthropic", transport: "h1" }),
    ]);
    return new SoakUpstreams({ openai, anthropic });
  }

  get ports(): number[] {
    return Object.values(this.byProvider).map((u) => Number(new URL(u.origin).port));
  }

  /** The gateway's `providers:` section: both passthrough, trusting the upstreams' certificates. */
  providersConfig(dir: string): Record<ProviderName, Record<string, unknown>> {
    const caFile = (name: ProviderName) => {
      const file = join(dir, `${name}-ca.pem`);
      writeFileSync(file, this.byProvider[name].ca);
      return file;
    };
    return {
      openai: {
        type: "openai",
        base_url: `${this.byProvider.openai.origin}/v1`,
        ca_file: caFile("openai"),
        passthrough_models: true,
      },
      anthropic: {
        type: "anthropic",
        base_url: this.byProvider.anthropic.origin,
        ca_file: caFile("anthropic"),
        passthrough_models: true,
        // HTTP/1.1 carries one request per socket: the default 4 would queue the calls that hang.
        pool: { max_connections: 32, max_idle_connections: 8 },
      },
    };
  }

  /** The model a normal call asks for: no plan, so a normal answer. */
  normalModel(provider: ProviderName): string {
    return `${provider}/${NORMAL_CASE}`;
  }

  /**
   * Plans `fault` under a case id of its own for the length of one call. Ids are reused so that
   * the gateway meets as many distinct model names as calls in flight, not one per call: a
   * bounded cache filling up over a whole run would otherwise look like a leak.
   */
  lease(provider: ProviderName, fault: Fault): CaseLease {
    const caseId = this.free.shift() ?? `soak-case-${this.created++}`;
    const upstream = this.byProvider[provider];
    upstream.plan(caseId, fault);
    return {
      model: `${provider}/${caseId}`,
      release: () => {
        // The upstream's own judgement, request by request: sent again after one had reached it
        // for good (read whole, neither refused as unprocessed nor answered with an error). A
        // retry after a neighbour's GOAWAY refused the first attempt is not one.
        const { exchanges, doubleSends } = upstream.timeline(caseId);
        this.tally.requests += exchanges.length;
        if (doubleSends > 0) this.tally.callsSentTwice++;
        this.free.push(caseId);
      },
    };
  }

  /** Open connections and streams on each upstream right now. */
  open(): Record<ProviderName, { connections: number; streams: number }> {
    const of = (u: ChaosUpstream) => ({ connections: u.openConnections(), streams: u.openStreams() });
    return { openai: of(this.byProvider.openai), anthropic: of(this.byProvider.anthropic) };
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.byProvider).map((u) => u.close()));
  }
}
