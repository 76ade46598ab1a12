// The display-filter syntax tree. Purely syntactic: field names and values
// are kept as typed (with columns); the compiler resolves and type-checks them.

export interface FieldName {
  name: string;
  col: number;
  /** `field[…]`: the text between the brackets and the column of `[`. */
  slice?: { text: string; col: number };
}

/** A value as typed: a bare word (`RAID5`, `0x7E`, `10.0.0.0/8`) or a quoted string. */
export interface ValueLit {
  text: string;
  quoted: boolean;
  col: number;
}

/** One member of an `in {…}` set: a value or an inclusive range `lo..hi`. */
export interface SetItem {
  lo: ValueLit;
  hi?: ValueLit;
}

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type Node =
  | { kind: 'and'; items: Node[] }
  | { kind: 'or'; items: Node[] }
  | { kind: 'not'; expr: Node }
  /** Bare field: present (as in Wireshark, for booleans too). */
  | { kind: 'present'; field: FieldName }
  | { kind: 'compare'; field: FieldName; op: CompareOp; opText: string; opCol: number; value: ValueLit }
  /** Strings: substring; flags: bit(s) set. */
  | { kind: 'contains'; field: FieldName; opCol: number; value: ValueLit }
  /** Strings: regular expression, case-insensitive. */
  | { kind: 'matches'; field: FieldName; opText: string; opCol: number; value: ValueLit }
  /** `field & mask`: any of the mask's bits set. */
  | { kind: 'bitand'; field: FieldName; opCol: number; value: ValueLit }
  | { kind: 'in'; field: FieldName; opCol: number; items: SetItem[]; negated: boolean };
