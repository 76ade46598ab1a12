// Display-filter field types: what the registry (fields.ts) holds and the
// compiler (compile.ts) reads.

import type { AnalyzedFrame } from '../frame.js';
import type { FlagBit } from '../../protocol/fields.js';

export type Visit<T> = (f: AnalyzedFrame, pred: (v: T) => boolean) => boolean;

/** A named integer value. With a mask, `==` compares `value & mask` (opcode names match requests and replies). */
export interface IntConst {
  value: bigint;
  mask?: bigint;
}

export interface NameTable {
  /** Lower-case name → value. */
  byName: ReadonlyMap<string, IntConst>;
  /** Names as shown, in value order. */
  list: readonly string[];
}

interface Common {
  name: string;
  /** One line for help and completion. */
  help: string;
  /** The field has at least one value in the frame. */
  present: (f: AnalyzedFrame) => boolean;
  /** The bytes each value was read from, where it has some: slices (`vvmp.opcode[0]`), `contains` on bytes. */
  raw?: Visit<Buffer>;
}

/** Unsigned integer up to 32 bits (JS number at run time). */
export interface NarrowUintField extends Common {
  type: 'uint';
  wide: false;
  some: Visit<number>;
  names?: NameTable;
  bits?: readonly FlagBit[];
}

/** 64-bit unsigned integer (bigint at run time): ids, byte counters. */
export interface WideUintField extends Common {
  type: 'uint';
  wide: true;
  some: Visit<bigint>;
  names?: NameTable;
  bits?: readonly FlagBit[];
}

export interface FloatField extends Common {
  type: 'float';
  some: Visit<number>;
}

/** A time as (seconds, nanoseconds), nanoseconds in 0..999,999,999; seconds may be negative for relative times. */
export interface TimeValue {
  sec: number;
  nsec: number;
}

/** Per-filter state: the last frame the filter selected (frame.time_delta_displayed). */
export interface FilterState {
  shown: boolean;
  lastSec: number;
  lastNsec: number;
}

/**
 * A time compared exactly as (seconds, nanoseconds): absolute (capture
 * time; date strings or epoch seconds) or relative (seconds).
 */
export interface TimeField extends Common {
  type: 'time';
  relative: boolean;
  /** Fills `out` and returns true when the field is present. */
  get: (f: AnalyzedFrame, out: TimeValue, state: FilterState) => boolean;
  /** Reads the filter's state (frame.time_delta_displayed): the filter must see frames in order. */
  stateful?: boolean;
}

/** A byte string (Wireshark FT_BYTES): compared as bytes, sliced, searched. */
export interface BytesField extends Common {
  type: 'bytes';
  some: Visit<Buffer>;
}

export interface StringField extends Common {
  type: 'string';
  some: Visit<string>;
  /** Closed set of values (canonical spelling); `==` and `in` accept them case-insensitively and nothing else. */
  names?: readonly string[];
  /** Normalises a value typed by the user before `==` and `in`. */
  canon?: (s: string) => string;
}

export interface BoolField extends Common {
  type: 'bool';
  some: Visit<boolean>;
}

/** IPv4 or IPv6 address, as the endpoint's text. */
export interface IpField extends Common {
  type: 'ip';
  some: Visit<string>;
}

/** A protocol or block: tested for presence, and as bytes when it has them (`vvmp contains 01:02`, `frame[0:4]`). */
export interface ProtoField extends Common {
  type: 'proto';
}

export type FilterField =
  | NarrowUintField | WideUintField | FloatField | TimeField | StringField | BoolField | IpField | BytesField | ProtoField;

export type FieldType = FilterField['type'];

