// A data-driven table: the columns are a list (label, how to render a cell), so pages declare
// what they show instead of repeating <td> markup. Used by the access and storage pages.
import type { ComponentChildren } from 'preact';
import './field.css';

export interface Column<T> {
  label: string;
  /** the cell's content; a plain field name shows that field as text */
  cell: keyof T | ((row: T) => ComponentChildren);
  /** a class for the <td>/<th>, e.g. "num" for right-aligned figures or "wide" */
  class?: string;
}

export function DataTable<T>(props: {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  label: string;
  empty: ComponentChildren;
  /** rows inserted before a row, e.g. a group heading */
  groupOf?: (row: T) => string;
  groupLabel?: (group: string, rows: T[]) => ComponentChildren;
  loading?: boolean;
}) {
  const { columns, rows } = props;
  const cell = (c: Column<T>, r: T): ComponentChildren =>
    typeof c.cell === 'function' ? c.cell(r) : (r[c.cell] as ComponentChildren) ?? '';
  const body: ComponentChildren[] = [];
  let lastGroup: string | undefined;
  for (const r of rows) {
    const g = props.groupOf?.(r);
    if (g !== undefined && g !== lastGroup) {
      lastGroup = g;
      body.push(
        <tr class="group" key={`group:${g}`}>
          <th colSpan={columns.length} scope="rowgroup">
            {props.groupLabel ? props.groupLabel(g, rows.filter((x) => props.groupOf!(x) === g)) : g}
          </th>
        </tr>,
      );
    }
    body.push(
      <tr key={props.rowKey(r)} data-key={props.rowKey(r)}>
        {columns.map((c) => (
          <td key={c.label} class={c.class}>
            {cell(c, r)}
          </td>
        ))}
      </tr>,
    );
  }
  return (
    <div class="table-wrap">
      <table class="grid data-table" aria-label={props.label} aria-busy={props.loading || undefined}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.label} class={c.class} scope="col">
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {body}
          {rows.length === 0 && (
            <tr>
              <td colSpan={columns.length} class="empty">
                {props.loading ? 'Loading…' : props.empty}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
