// Types for bench/svg-chart.mjs (its unit test is TypeScript).
export interface Series {
  name: string;
  values: (number | null)[];
  low?: (number | null)[];
  high?: (number | null)[];
}
export interface ChartSpec {
  title: string;
  unit: string;
  groups: string[];
  series: Series[];
  stacked?: boolean;
  caption?: string;
  format?: (value: number) => string;
}
export function escapeXml(text: unknown): string;
export function barChart(spec: ChartSpec): string;
export function chartColumn(specs: ChartSpec[]): string;
