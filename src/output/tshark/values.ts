// Field values as `tshark -T fields -e NAME` prints them with the generated
// Lua dissector. Names are those of the display filter (its field registry,
// so a field added there can be printed with no edit here); frame.* fields
// describe the capture packet as in tshark. Values per field:
//   integers   decimal, or 0x-padded hex where the dissector shows hex
//              (ids, flags, reserved fields, hex units, status)
//   booleans   1 / 0
//   text, IPs  as they are
// Packet-level fields (frame, ip, tcp, udp) have one set of values per packet;
// VVMP and expert fields one per VVMP frame in the packet, all of them listed.

import { FILTER_FIELDS, type FilterField } from '../../analysis/filter/fields.js';
import type { TimeValue } from '../../analysis/filter/fieldTypes.js';
import type { AnalyzedFrame } from '../../analysis/frame.js';
import { HEADER, PAYLOAD_BLOCKS, type FieldDef } from '../../protocol/fields.js';
import { stampOf, type PacketRecord } from './packet.js';
import { diffText, epochText, frameTimeText } from './time.js';

/** A value as one string, or undefined when the field is absent. */
type PacketValue = (r: PacketRecord) => string | undefined;

/** frame.* fields of the capture packet, as tshark names and prints them. */
const PACKET_FIELDS: ReadonlyMap<string, { help: string; type: string; get: PacketValue }> = new Map([
  ['frame.number', { help: 'Capture packet number, as tshark (in -Y: the VVMP frame number; frame.packet is the packet)', type: 'uint', get: (r) => String(r.packet.number) }],
  ['frame.len', { help: 'Packet length on the wire, as tshark (in -Y: the VVMP frame length)', type: 'uint', get: (r) => String(r.packet.origLen) }],
  ['frame.cap_len', { help: 'Captured packet length', type: 'uint', get: (r) => String(r.packet.capLen) }],
  ['frame.time', { help: 'Arrival time (UTC)', type: 'time', get: (r) => frameTimeText(stampOf(r.packet)) }],
  ['frame.time_epoch', { help: 'Arrival time, seconds since the epoch', type: 'time', get: (r) => epochText(stampOf(r.packet), 9) }],
  ['frame.time_relative', { help: 'Seconds since the first packet', type: 'time', get: (r) => diffText(stampOf(r.packet), r.first, 9) }],
  ['frame.time_delta', { help: 'Seconds since the previous captured packet', type: 'time', get: (r) => diffText(stampOf(r.packet), r.packet.prev, 9) }],
  ['ipv6.src', { help: 'Source IPv6 address (ip.src in -Y)', type: 'ipv6', get: (r) => v6(r.frames[0]!.src.ip) }],
  ['ipv6.dst', { help: 'Destination IPv6 address (ip.dst in -Y)', type: 'ipv6', get: (r) => v6(r.frames[0]!.dst.ip) }],
  ['frame.time_delta_displayed', { help: 'Seconds since the previous displayed packet', type: 'time', get: (r) => diffText(stampOf(r.packet), r.prevDisplayed, 9) }],
]);

function v6(ip: string): string | undefined {
  return ip.includes(':') ? ip : undefined;
}

/** Field table entries by filter name: their width and whether the dissector shows them in hex. */
const TABLE_DEFS: ReadonlyMap<string, FieldDef> = new Map(
  [HEADER, ...PAYLOAD_BLOCKS].flatMap((b) => b.fields.map((f) => [f.filter, f] as const)),
);

/** Derived integer fields the dissector shows in hex, with their width in bytes. */
const DERIVED_HEX: ReadonlyMap<string, number> = new Map([[`${HEADER.prefix}.status`, 1]]);

function hexWidth(name: string): number | null {
  const def = TABLE_DEFS.get(name);
  if (def) return def.kind === 'id' || def.kind === 'flags' || def.kind === 'reserved' || def.unit === 'hex' ? def.width : null;
  // The reserved bits of a flags field (vvmp.alloc.flags.reserved): shown in hex as wide as their field.
  const dot = name.lastIndexOf('.');
  const parent = TABLE_DEFS.get(name.slice(0, dot));
  if (parent?.kind === 'flags' && name.slice(dot + 1) === 'reserved') return parent.width;
  return DERIVED_HEX.get(name) ?? null;
}

function intText(v: number | bigint, hex: number | null): string {
  return hex === null ? v.toString() : '0x' + v.toString(16).padStart(hex * 2, '0');
}

/** Fields whose values are VVMP frame numbers: printed as packet numbers, as tshark does. */
const FRAME_NUMBER_FIELDS: ReadonlySet<string> = new Set([`${HEADER.prefix}.response_in`, `${HEADER.prefix}.response_to`, `${HEADER.prefix}.peer`]);

/** A (sec, nsec) time as seconds with 9 decimals (tshark's relative times: frame.time_relative, vvmp.time). */
function secondsText(t: TimeValue): string {
  return `${t.sec}.${String(t.nsec).padStart(9, '0')}`;
}

// Where the visitors below put values: set by frameValues around each visit, so
// the visitors are made once per field, not per frame.
let into: ValueSink = [];
let intoPacketOf: ((frameNumber: number) => number | undefined) | undefined;

/** The visitor that collects one field's values as text (made once per field). */
type Collector = (f: AnalyzedFrame) => void;

function makeCollector(field: FilterField): Collector {
  switch (field.type) {
    case 'uint': {
      const hex = hexWidth(field.name);
      if (field.wide) {
        const push = (v: bigint): boolean => {
          into.push(intText(v, hex));
          return false; // keep visiting: we want every value
        };
        return (f) => void field.some(f, push);
      }
      const frameNumbers = FRAME_NUMBER_FIELDS.has(field.name);
      const push = (v: number): boolean => {
        into.push(frameNumbers && intoPacketOf ? String(intoPacketOf(v) ?? v) : intText(v, hex));
        return false;
      };
      return (f) => void field.some(f, push);
    }
    case 'float': {
      const push = (v: number): boolean => {
        into.push(String(v));
        return false;
      };
      return (f) => void field.some(f, push);
    }
    case 'bool': {
      const push = (v: boolean): boolean => {
        into.push(v ? '1' : '0');
        return false;
      };
      return (f) => void field.some(f, push);
    }
    case 'string':
    case 'ip': {
      const push = (v: string): boolean => {
        into.push(v);
        return false;
      };
      return (f) => void field.some(f, push);
    }
    case 'time': {
      return (f) => {
        const t: TimeValue = { sec: 0, nsec: 0 };
        if (field.get(f, t, { shown: false, lastSec: 0, lastNsec: 0 })) into.push(field.relative ? secondsText(t) : epochText(t, 9));
      };
    }
    case 'proto':
      return (f) => {
        if (field.present(f)) into.push('');
      };
    default:
      return () => undefined;
  }
}

const collectors = new Map<FilterField, Collector>();

/** Appends every value of `field` in `f` to `out`. */
function collect(field: FilterField, f: AnalyzedFrame, out: ValueSink, packetOf?: (frameNumber: number) => number | undefined): void {
  let c = collectors.get(field);
  if (c === undefined) collectors.set(field, (c = makeCollector(field)));
  const outer = into;
  const outerPacketOf = intoPacketOf;
  into = out;
  intoPacketOf = packetOf;
  try {
    c(f);
  } finally {
    into = outer;
    intoPacketOf = outerPacketOf;
  }
}

/**
 * Every value of a registry field in one VVMP frame, in the order the frame carries them.
 * `packetOf` turns frame numbers (vvmp.response_in …) into packet numbers; without it they stay frame numbers.
 */
export function frameValues(field: FilterField, f: AnalyzedFrame, packetOf?: (frameNumber: number) => number | undefined): string[] {
  const out: string[] = [];
  collect(field, f, out, packetOf);
  return out;
}

/** Fields whose values describe the packet, not one VVMP frame in it. */
function isPacketLevel(name: string): boolean {
  return !name.startsWith(`${HEADER.prefix}.`) && name !== HEADER.prefix && !name.startsWith('expert');
}

/**
 * Where a field's values come from, for writing a packet's line from its
 * frames one at a time (output/tshark/fieldRecords.ts): `packet`, the packet
 * alone (`get` reads no frame); `first`, the packet's first VVMP frame;
 * `frame`, every VVMP frame of the packet in turn.
 */
export type FieldScope =
  | { scope: 'packet'; get(r: PacketRecord): string | undefined }
  | { scope: 'first' | 'frame'; collect(f: AnalyzedFrame, out: ValueSink, packetOf?: (frameNumber: number) => number | undefined): void };

/** Where values go, in order: an array, or a writer that writes each at once (fieldRecords.ts). */
export interface ValueSink {
  push(v: string): unknown;
}

export interface TsharkField {
  name: string;
  /** Every value of the field in the packet, in order; empty when absent. */
  values(r: PacketRecord): string[];
  /** The same values, frame by frame. */
  source: FieldScope;
}

/** The field named as in `-e NAME`, or null when neither tshark's frame fields nor the filter know it. */
export function tsharkField(name: string): TsharkField | null {
  const pf = PACKET_FIELDS.get(name);
  if (pf) {
    if (name === 'ipv6.src' || name === 'ipv6.dst') {
      const src = name === 'ipv6.src';
      const collectV6 = (f: AnalyzedFrame, out: ValueSink): void => {
        const v = v6((src ? f.src : f.dst).ip);
        if (v !== undefined) out.push(v);
      };
      return { name, values: (r) => frameList(collectV6, r.frames[0]!), source: { scope: 'first', collect: collectV6 } };
    }
    return { name, values: (r) => {
      const v = pf.get(r);
      return v === undefined ? [] : [v];
    }, source: { scope: 'packet', get: pf.get } };
  }
  const field = FILTER_FIELDS.get(name);
  if (!field) return null;
  // tshark's ip.* fields are IPv4 only (IPv6 addresses are ipv6.*); the filter's cover both.
  if (field.type === 'ip') {
    const collectV4 = (f: AnalyzedFrame, out: ValueSink): void => {
      for (const a of frameValues(field, f)) if (!a.includes(':')) out.push(a);
    };
    return { name, values: (r) => frameList(collectV4, r.frames[0]!), source: { scope: 'first', collect: collectV4 } };
  }
  const each = (f: AnalyzedFrame, out: ValueSink, packetOf?: (frameNumber: number) => number | undefined): void => collect(field, f, out, packetOf);
  if (isPacketLevel(name)) return { name, values: (r) => frameValues(field, r.frames[0]!, r.packetOf), source: { scope: 'first', collect: each } };
  return { name, values: (r) => {
    const out: string[] = [];
    for (const f of r.frames) collect(field, f, out, r.packetOf);
    return out;
  }, source: { scope: 'frame', collect: each } };
}

function frameList(c: (f: AnalyzedFrame, out: ValueSink) => void, f: AnalyzedFrame): string[] {
  const out: string[] = [];
  c(f, out);
  return out;
}

export interface FieldListing {
  name: string;
  /** tshark's type name: FT_UINT32, FT_BOOLEAN, FT_STRING … */
  type: string;
  /** tshark's display base: BASE_DEC, BASE_HEX or BASE_NONE. */
  base: string;
  help: string;
}

const UINT_BY_WIDTH: Readonly<Record<number, string>> = { 1: 'FT_UINT8', 2: 'FT_UINT16', 3: 'FT_UINT24', 4: 'FT_UINT32', 8: 'FT_UINT64' };
const FT: Readonly<Record<string, string>> = {
  float: 'FT_DOUBLE', time: 'FT_ABSOLUTE_TIME', string: 'FT_STRING', bool: 'FT_BOOLEAN', ip: 'FT_IPv4', proto: 'FT_PROTOCOL',
};

function listing(f: FilterField): FieldListing {
  if (f.type === 'uint') {
    const hex = hexWidth(f.name);
    const width = TABLE_DEFS.get(f.name)?.width ?? hex ?? (f.wide ? 8 : 4);
    return { name: f.name, type: UINT_BY_WIDTH[width] ?? 'FT_UINT32', base: hex === null ? 'BASE_DEC' : 'BASE_HEX', help: f.help };
  }
  return { name: f.name, type: FT[f.type] ?? f.type, base: 'BASE_NONE', help: f.help };
}

/** Every name -e accepts: the filter registry plus tshark's frame fields, for -G fields. */
export function tsharkFieldList(): FieldListing[] {
  const out: FieldListing[] = [];
  const seen = new Set<string>();
  const packetListing = (name: string, pf: { help: string; type: string }): FieldListing => ({
    name, type: pf.type === 'uint' ? 'FT_UINT32' : pf.type === 'ipv6' ? 'FT_IPv6' : name === 'frame.time' ? 'FT_ABSOLUTE_TIME' : 'FT_RELATIVE_TIME',
    base: pf.type === 'uint' ? 'BASE_DEC' : 'BASE_NONE', help: pf.help,
  });
  for (const f of FILTER_FIELDS.values()) {
    const pf = PACKET_FIELDS.get(f.name);
    out.push(pf ? packetListing(f.name, pf) : listing(f));
    seen.add(f.name);
  }
  for (const [name, pf] of PACKET_FIELDS) if (!seen.has(name)) out.push(packetListing(name, pf));
  return out;
}
