/**
 * Prints rows as aligned columns; the first row is the header. `right` lists the column
 * indexes to right-align (numbers); the others are left-aligned.
 */
export function printTable(rows: string[][], right: readonly number[] = []): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const row of rows) {
    const cells = row.map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)));
    console.log(cells.join('  ').trimEnd());
  }
}
