/** Horizontal bar charts as a hand-written SVG: one panel per comparison, whiskers for the spread. */

export interface Bar {
  label: string;
  /** Median over rounds. */
  value: number;
  /** Lowest and highest round, drawn as a whisker. */
  min?: number;
  max?: number;
  /** Colour group, e.g. "pooled" vs "unpooled". */
  tone?: Tone;
}

export type Tone = "a" | "b" | "c" | "d";

export interface ChartPanel {
  title: string;
  /** Shown after each value, e.g. "req/s" or "ms". */
  unit: string;
  bars: Bar[];
}

const TONES: Record<Tone, string> = { a: "#3b7dd8", b: "#e8833a", c: "#8a8f98", d: "#4aa564" };
const WIDTH = 820;
const LABEL_WIDTH = 250;
const VALUE_WIDTH = 150;
const BAR_HEIGHT = 18;
const BAR_GAP = 6;
const TITLE_HEIGHT = 28;
const PANEL_GAP = 18;

export function renderChart(title: string, subtitle: string[], panels: ChartPanel[]): string {
  const parts: string[] = [];
  let y = 42 + 16 * subtitle.length;
  for (const panel of panels) {
    parts.push(renderPanel(panel, y));
    y += TITLE_HEIGHT + panel.bars.length * (BAR_HEIGHT + BAR_GAP) + PANEL_GAP;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="24" font-size="17" font-weight="600">${escapeXml(title)}</text>`,
    ...subtitle.map((line, i) => `<text x="16" y="${42 + 16 * i}" fill="#555">${escapeXml(line)}</text>`),
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

function renderPanel(panel: ChartPanel, top: number): string {
  const plotWidth = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 32;
  const finite = panel.bars.flatMap((b) => [b.value, b.max ?? b.value]).filter(Number.isFinite);
  const scale = plotWidth / Math.max(...finite, Number.MIN_VALUE);
  const out = [`<text x="16" y="${top + 16}" font-weight="600">${escapeXml(panel.title)}</text>`];
  panel.bars.forEach((bar, i) => {
    const y = top + TITLE_HEIGHT + i * (BAR_HEIGHT + BAR_GAP);
    const x0 = 16 + LABEL_WIDTH;
    const w = Number.isFinite(bar.value) ? Math.max(1, bar.value * scale) : 0;
    out.push(
      `<text x="${x0 - 8}" y="${y + 13}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${BAR_HEIGHT}" fill="${TONES[bar.tone ?? "a"]}" rx="2"/>`,
    );
    if (bar.min !== undefined && bar.max !== undefined && Number.isFinite(bar.min) && bar.max > bar.min) {
      const [a, b, mid] = [x0 + bar.min * scale, x0 + bar.max * scale, y + BAR_HEIGHT / 2];
      out.push(
        `<path d="M${a.toFixed(1)} ${mid}H${b.toFixed(1)}M${a.toFixed(1)} ${mid - 5}v10M${b.toFixed(1)} ${mid - 5}v10" stroke="#222" stroke-width="1.2"/>`,
      );
    }
    const labelX = x0 + Math.max(w, (bar.max ?? 0) * scale) + 6;
    out.push(
      `<text x="${labelX.toFixed(1)}" y="${y + 13}" fill="#222">${escapeXml(formatValue(bar.value, panel.unit))}</text>`,
    );
  });
  return out.join("\n");
}

function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "n/a";
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toLocaleString("en-US", { maximumFractionDigits: digits })} ${unit}`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
