export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** Measured in the same run, on the same machine: the ratio value/baseline is what to compare. */
  baseline?: { name: string; value: number };
  note?: string;
}
