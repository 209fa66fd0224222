/**
 * What a backend actually holds for one run, read independently of the SDK that wrote it
 * (REST API, GraphQL, or the on-disk offline format). Every backend reader produces this shape,
 * so one comparator (compare.ts) judges all three backends the same way.
 */
import type { Series } from "./series.ts";

export interface ObservedRun {
  runId: string;
  name?: string;
  status?: string;
  /** Backend id of the parent run/task, or the W&B group name. */
  parentId?: string;
  group?: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** metric key -> every point the backend holds, in the backend's order (columns from streaming readers). */
  metrics: Record<string, ObservedPoint[] | Series>;
  /** artifact path -> size and sha256 of the bytes read back. */
  artifacts: Record<string, { size: number; sha256: string }>;
  git?: { commit?: string; branch?: string; dirty?: boolean; diff?: string; remote?: string };
  /** Facts a reader saw but the comparator does not judge (for evidence in reports). */
  extra?: Record<string, unknown>;
}

export interface ObservedPoint {
  step: number;
  /** Doubles as numbers; NaN/Infinity as the strings "NaN", "Infinity", "-Infinity". */
  value: number | string;
  timestamp?: number;
}
