import type { ScenarioResult, Table } from "./scenarios/context.js";

/** The Markdown report printed to stdout: a header of run facts, then each scenario's tables and notes. */

export interface RunMeta {
  startedAt: string;
  durationS: number;
  quick: boolean;
  rounds: number;
  node: string;
  cpu: string;
  cores: number;
  pinning: string;
  gatewayLogLevel: string;
  commit: string;
  /** 1-minute load average when the run started and ended: other work on the machine skews figures. */
  loadAverage: [number, number];
}

export interface ScenarioReport extends ScenarioResult {
  name: string;
  title: string;
}

export function markdown(meta: RunMeta, scenarios: ScenarioReport[]): string {
  const lines = [
    `## weaver-gateway bench${meta.quick ? " (--quick)" : ""}`,
    "",
    `${meta.startedAt} · commit ${meta.commit} · Node ${meta.node} · ${meta.cores} × ${meta.cpu}`,
    `Pinning: ${meta.pinning}. Load average ${meta.loadAverage.map((l) => l.toFixed(1)).join(" → ")}` +
      // Judged at the start, before the bench's own processes add to it.
      `${meta.loadAverage[0] > meta.cores / 2 ? " (the machine was busy before the bench started: figures are noisy)" : ""}. ` +
      `Gateway log level: ${meta.gatewayLogLevel}. ` +
      `Each figure is the median of ${meta.rounds} rounds unless its scenario says otherwise (after a discarded warm-up), ` +
      "with the lowest and highest round in parentheses; ratios are taken per round, then the median.",
  ];
  for (const s of scenarios) {
    lines.push("", `### ${s.name}: ${s.title}`, "");
    for (const table of s.tables) lines.push(...markdownTable(table), "");
    for (const note of s.notes) lines.push(`- ${note}`);
  }
  lines.push("", `Finished in ${meta.durationS.toFixed(1)} s.`);
  return `${lines.join("\n")}\n`;
}

function markdownTable(table: Table): string[] {
  const [header, ...rows] = table;
  if (header === undefined) return [];
  const row = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [row(header), row(header.map((_, i) => (i === 0 ? "---" : "---:"))), ...rows.map(row)];
}
