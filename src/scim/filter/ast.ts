/** The abstract syntax of RFC 7644 §3.4.2.2 filters, as filter/parser.ts produces it. */
export const COMPARE_OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];
export type CompValue = string | number | boolean | null;

export type Filter =
  | { readonly kind: 'compare'; readonly path: string; readonly op: CompareOp; readonly value: CompValue }
  | { readonly kind: 'present'; readonly path: string }
  | { readonly kind: 'and' | 'or'; readonly left: Filter; readonly right: Filter }
  | { readonly kind: 'not'; readonly filter: Filter }
  /** `emails[type eq "work" and value co "@acme.com"]`: one element of `path` must satisfy `filter`. */
  | { readonly kind: 'valuePath'; readonly path: string; readonly filter: Filter };
