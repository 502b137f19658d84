import type { CallOutcome } from "./chaos-client.js";
import { type ChaosRig, providerName, UPSTREAM_KINDS } from "./chaos-rig.js";
import type { ExchangeRecord } from "./chaos-upstream.js";
import type { ChaosCase } from "./faults.js";
import { leaksOf, type ResourceSnapshot, raised, settle, snapshot } from "./leak-check.js";
import { checkCase, resetDelays } from "./properties.js";

/** One RPC's case, what it came to, and the properties it broke. */
export interface CaseReport {
  case: ChaosCase;
  model: string;
  outcome: CallOutcome;
  /** Requests the upstream received for it, and answered with 200. */
  received: number;
  answered: number;
  doubleSends: number;
  /** From the caller's cancel or deadline to the upstream seeing the reset, per request open then. */
  resetDelays: number[];
  broken: string[];
}

export interface BatchReport {
  cases: CaseReport[];
  /** Broken properties of the gateway as a whole: a crash, /healthz, the next request, leaks, output. */
  broken: string[];
  leaks: string[];
}

/** The gateway reads a finished stream to its end for up to 5 s; a response left open that long may linger. */
const LINGER_MS = 5_500;
const NORMAL_DEADLINE_MS = 5_000;

/** Runs batches of cases against one rig, checking after each that the gateway is whole. */
export class BatchRunner {
  private baseline: ResourceSnapshot | undefined;
  private batches = 0;
  private readonly lingering = new Set<ExchangeRecord>();
  /** How much of the gateway's output has been checked already. */
  private seenOutput = { logs: 0, stderr: 0, pid: -1 };

  constructor(private readonly rig: ChaosRig) {}

  async run(cases: ChaosCase[]): Promise<BatchReport> {
    if (!this.rig.alive()) await this.restart();
    this.baseline ??= await this.measureBaseline();
    const batch = ++this.batches;
    const planned = cases.map((c, index) => {
      const name = providerName(c.wire, c.transport);
      const caseId = `chaos-${batch}-${index}-${Date.now().toString(36)}`;
      this.upstream(name).plan(caseId, c.fault);
      return { c, name, caseId, model: `${name}/${caseId}` };
    });
    const outcomes = await Promise.all(
      planned.map(({ c, model }) =>
        this.rig
          .client()
          .call({ method: c.method, model, deadlineMs: c.deadlineMs, cancelAfterMs: c.cancelAfterMs }),
      ),
    );
    const broken: string[] = [];
    let leaks: string[] = [];
    const timelines = planned.map(({ name, caseId }) => this.upstream(name).timeline(caseId));
    for (const timeline of timelines)
      for (const e of timeline.exchanges) if (e.silentAfterBodyAt !== undefined) this.lingering.add(e);
    if (!this.rig.alive()) {
      broken.push(await this.crashReport());
      await this.restart();
    } else if (!(await this.rig.healthy())) {
      // Alive but not answering (a busy loop, say): a finding; a fresh gateway lets the run go on.
      broken.push(await this.hangReport());
      await this.restart();
    } else {
      broken.push(...(await this.checkServing(batch)));
      try {
        const settled = await settle(this.rig, this.baseline, () => this.lingeringNow());
        leaks = settled.leaks;
        // Reported once: later batches are checked against what this one left.
        if (leaks.length > 0) this.baseline = raised(this.baseline, settled.last);
      } catch (error) {
        leaks = [(error as Error).message];
      }
      broken.push(...leaks.map((leak) => `leak: ${leak}`));
      broken.push(...this.checkOutput());
    }
    const reports = planned.map(({ c, model, name, caseId }, i): CaseReport => {
      const outcome = outcomes[i] as CallOutcome;
      const timeline = this.upstream(name).timeline(caseId);
      const counts = this.upstream(name).counts(caseId);
      return {
        case: c,
        model,
        outcome,
        ...counts,
        doubleSends: timeline.doubleSends,
        resetDelays: resetDelays(c, outcome, timeline),
        broken: checkCase(c, outcome, timeline, this.rig.secrets),
      };
    });
    return { cases: reports, broken, leaks };
  }

  /** After the last batch: everything back to the baseline, lingering streams included. */
  async finalLeaks(): Promise<string[]> {
    if (!this.baseline || !this.rig.alive()) return [];
    try {
      return (await settle(this.rig, this.baseline, () => 0, LINGER_MS + 1_000)).leaks;
    } catch (error) {
      return [(error as Error).message];
    }
  }

  private upstream(name: string) {
    const upstream = this.rig.upstreams.get(name);
    if (!upstream) throw new Error(`no chaos upstream ${name}`);
    return upstream;
  }

  private lingeringNow(): number {
    const now = performance.now();
    for (const e of this.lingering)
      if (e.closedAt !== undefined || now - (e.silentAfterBodyAt ?? 0) > LINGER_MS) this.lingering.delete(e);
    return this.lingering.size;
  }

  /** /healthz, and a normal Generate and GenerateStream through every provider's pool. */
  private async checkServing(batch: number): Promise<string[]> {
    const broken: string[] = [];
    if (!(await this.rig.healthy())) broken.push("/healthz did not answer 200");
    const calls = UPSTREAM_KINDS.flatMap(({ wire, transport }) =>
      (["generate", "generateStream"] as const).map(async (method) => {
        const model = `${providerName(wire, transport)}/normal-${batch}-${method}`;
        const outcome = await this.rig.client().call({ method, model, deadlineMs: NORMAL_DEADLINE_MS });
        if (outcome.code !== "OK")
          broken.push(`a normal ${method} to ${model} ended ${outcome.code}: ${outcome.details}`);
      }),
    );
    await Promise.all(calls);
    return broken;
  }

  /** The gateway's new output: no trace of an uncaught error, no key. */
  private checkOutput(): string[] {
    const gateway = this.rig.gateway();
    if (this.seenOutput.pid !== gateway.child.pid)
      this.seenOutput = { logs: 0, stderr: 0, pid: gateway.child.pid ?? -1 };
    const stderr = gateway.stderr().slice(this.seenOutput.stderr);
    const logs = gateway.logs.slice(this.seenOutput.logs).map((line) => JSON.stringify(line));
    this.seenOutput.stderr += stderr.length;
    this.seenOutput.logs += logs.length;
    const broken: string[] = [];
    if (/uncaught|unhandled/i.test(stderr)) broken.push(`stderr: ${stderr.slice(0, 600)}`);
    const output = `${stderr}\n${logs.join("\n")}`;
    if (this.rig.secrets.some((secret) => output.includes(secret)))
      broken.push("a key in the gateway's output");
    return broken;
  }

  private async crashReport(): Promise<string> {
    const gateway = this.rig.gateway();
    const exit = await gateway.exited;
    const stderr = gateway.stderr().trim().split("\n").slice(0, 12).join("\n");
    return `the gateway exited (code ${exit.code}, signal ${exit.signal}); stderr:\n${stderr}`;
  }

  private async hangReport(): Promise<string> {
    const before = this.rig.usage();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = this.rig.usage();
    const cpu = after.cpuTicks - before.cpuTicks; // clock ticks are 1/100 s on Linux
    return `the gateway stopped answering /healthz: ${cpu}% CPU over 1 s, RSS ${Math.round(after.rssKb / 1024)} MB (was ${Math.round(before.rssKb / 1024)} MB)`;
  }

  private async restart(): Promise<void> {
    await this.rig.restart();
    this.baseline = await this.measureBaseline();
  }

  /** Resources once every pool has carried a normal request: what a batch must return to. */
  private async measureBaseline(): Promise<ResourceSnapshot> {
    await this.checkServing(0);
    const start = await snapshot(this.rig);
    // Let the upstreams catch up with the connections the gateway opened and closed.
    const { last } = await settle(this.rig, start, () => 0, 500);
    return leaksOf(last, start, 0).length === 0 ? last : start;
  }
}
