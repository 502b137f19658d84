/**
 * Rows as lines of aligned columns, two spaces apart: the first `leftColumns` (names) padded on the
 * right, the rest (figures) on the left. The command-line tables all print this way.
 */
export function alignedLines(rows: readonly (readonly string[])[], leftColumns: number): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i < leftColumns ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  "),
  );
}
