/** A list request after parsing (RFC 7644 §3.4.2): filter, sort, 1-based index paging. */
import type { Filter } from '../filter/ast.ts';

export interface ListQuery {
  readonly filter?: Filter | undefined;
  readonly sortBy?: string | undefined;
  readonly descending: boolean;
  /** 1-based. */
  readonly startIndex: number;
  /** 0 asks for totalResults only. */
  readonly count: number;
}

export interface Page<Row> {
  readonly total: number;
  readonly rows: readonly Row[];
}
