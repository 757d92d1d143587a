import { left, right } from './shared.js';

/**
 * One column of a card's text table, as the source's `format!` strings lay it out: the header is
 * `width` wide; the cell is `cellWidth` wide (default `width`); the starred column is followed by
 * `*` on the best row (or a space).
 */
export interface TableColumn<T> {
  header: string;
  width: number;
  cell(row: T): string | number;
  cellWidth?: number;
  star?: boolean;
}

/** How a single-metric card prints: title, columns, rule length, footer, and markdown rows. */
export interface CardLayout<T> {
  title: string;
  /** The first column (the runtime name, left-aligned), then the rest (right-aligned). */
  nameWidth: number;
  columns: ReadonlyArray<TableColumn<T>>;
  ruleWidth: number;
  footer?: readonly string[];
  /** Markdown header and separator lines, as the source writes them. */
  markdownHead: readonly [string, string];
  markdownRow(row: T): readonly (string | number)[];
}

/** Renders rows as the source's fixed-width text table. */
export function renderTable<T extends { name: string; best: boolean }>(
  layout: CardLayout<T>,
  rows: readonly T[],
): string {
  const header = [
    left('Runtime', layout.nameWidth),
    ...layout.columns.map((c) => right(c.header, c.width)),
  ].join(' ');
  const lines = [layout.title, '', header, '-'.repeat(layout.ruleWidth)];
  for (const row of rows) {
    const cells = layout.columns.map((c) => {
      const text = right(c.cell(row), c.cellWidth ?? c.width);
      return c.star ? `${text}${row.best ? '*' : ' '}` : text;
    });
    lines.push([left(row.name, layout.nameWidth), ...cells].join(' '));
  }
  if (layout.footer) lines.push('', ...layout.footer);
  return lines.join('\n');
}

/** Renders rows as the source's markdown table. */
export function renderMarkdown<T extends { name: string }>(
  layout: CardLayout<T>,
  rows: readonly T[],
): string {
  const lines = [`## ${layout.title}`, '', ...layout.markdownHead];
  for (const row of rows) lines.push(`| ${[row.name, ...layout.markdownRow(row)].join(' | ')} |`);
  return lines.join('\n');
}
