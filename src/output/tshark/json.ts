// `-T json` (tshark's array of packets with _source.layers) and `-T ek`
// (newline-delimited Elasticsearch/OpenSearch bulk: an index action line,
// then the document with flattened `layer_field_name` keys).
//
// Layers: frame (packet times, number, lengths), ip or ipv6, tcp or udp, and
// one vvmp object per VVMP frame in the packet: header and derived fields,
// then the payload block (one object per device record). As in tshark,
// a repeated key (device records, several VVMP frames) is written again, not
// merged into an array, in -T json; -T ek collects repeated values in arrays.

import { FILTER_FIELDS, type FilterField } from '../../analysis/filter/fields.js';
import type { AnalyzedFrame } from '../../analysis/frame.js';
import { HEADER, PAYLOAD_BLOCKS, type BlockLayout } from '../../protocol/fields.js';
import type { PacketRecord } from './packet.js';
import { isoTimeText } from './time.js';
import { frameValues, tsharkField } from './values.js';

/** An ordered object whose keys may repeat; a leaf is a value text, a bool, or null (a block). */
type Node = Entry[];
interface Entry {
  key: string;
  value: string | boolean | null | Node;
}

const FRAME_KEYS = ['frame.time', 'frame.time_epoch', 'frame.time_delta', 'frame.time_delta_displayed',
  'frame.time_relative', 'frame.number', 'frame.len', 'frame.cap_len'];

/** -T ek writes frame.time in ISO 8601 (Elasticsearch's date format); -T json as -T fields does. */
function frameLayer(r: PacketRecord, ek: boolean): Node {
  return FRAME_KEYS.map((k) => ({
    key: k,
    value: ek && k === 'frame.time' ? isoTimeText({ sec: r.packet.tsSec, nsec: r.packet.tsNsec }) : tsharkField(k)!.values(r)[0] ?? '',
  }));
}

function addrLayer(f: AnalyzedFrame): [string, Node] {
  const v6 = f.src.ip.includes(':');
  const p = v6 ? 'ipv6' : 'ip';
  return [p, [{ key: `${p}.src`, value: f.src.ip }, { key: `${p}.dst`, value: f.dst.ip }]];
}

function transportLayer(r: PacketRecord): [string, Node] {
  const f = r.frames[0]!;
  const t = f.transport;
  const node: Node = [
    { key: `${t}.srcport`, value: String(f.src.port) },
    { key: `${t}.dstport`, value: String(f.dst.port) },
  ];
  // Fields the filter offers for the transport (such as tcp.stream) come along.
  for (const name of FILTER_FIELDS.keys()) {
    if (!name.startsWith(`${t}.`) || /\.(src|dst)?port$/.test(name)) continue;
    const vs = tsharkField(name)!.values(r);
    if (vs.length) node.push({ key: name, value: vs[0]! });
  }
  return [t, node];
}

const P = HEADER.prefix;

function blockOf(name: string): BlockLayout | undefined {
  return PAYLOAD_BLOCKS.find((b) => name === b.prefix || name.startsWith(`${b.prefix}.`));
}

function leaf(field: FilterField, v: string): string | boolean {
  return field.type === 'bool' ? v === '1' : v;
}

/** One VVMP frame's layer: header and derived fields, then its payload block. */
function vvmpLayer(f: AnalyzedFrame, packetOf?: (frameNumber: number) => number | undefined): Node {
  const node: Node = [];
  const blocks = new Map<BlockLayout, FilterField[]>();
  for (const field of FILTER_FIELDS.values()) {
    if (!field.name.startsWith(`${P}.`)) continue;
    const block = blockOf(field.name);
    if (block) {
      if (field.name !== block.prefix) {
        const l = blocks.get(block);
        if (l) l.push(field);
        else blocks.set(block, [field]);
      }
      continue;
    }
    const vs = frameValues(field, f, packetOf);
    for (const v of vs) node.push({ key: field.name, value: field.type === 'proto' ? null : leaf(field, v) });
  }
  const block = f.decoded.payloadBlock;
  const fields = block ? blocks.get(block) : undefined;
  if (block && fields) {
    const columns = fields.map((fd) => frameValues(fd, f, packetOf));
    const records = block.repeated ? Math.max(0, ...columns.map((c) => c.length)) : 1;
    for (let i = 0; i < records; i++) {
      const rec: Node = [];
      fields.forEach((fd, j) => {
        const v = columns[j]![i];
        if (v !== undefined) rec.push({ key: fd.name, value: leaf(fd, v) });
      });
      node.push({ key: block.prefix, value: rec });
    }
  }
  return node;
}

function layers(r: PacketRecord, ek = false): Entry[] {
  const [ipKey, ip] = addrLayer(r.frames[0]!);
  const [tKey, t] = transportLayer(r);
  return [
    { key: 'frame', value: frameLayer(r, ek) },
    { key: ipKey, value: ip },
    { key: tKey, value: t },
    ...r.frames.map((f) => ({ key: P, value: vvmpLayer(f, r.packetOf) })),
  ];
}

function indexName(r: PacketRecord): string {
  return `packets-${isoTimeText({ sec: r.packet.tsSec, nsec: 0 }).slice(0, 10)}`;
}

// ---- -T json ------------------------------------------------------------------

function jsonNode(n: Node, indent: string): string {
  if (n.length === 0) return '{}';
  const inner = indent + '  ';
  const parts = n.map((e) => `${inner}${JSON.stringify(e.key)}: ${jsonValue(e.value, inner)}`);
  return `{\n${parts.join(',\n')}\n${indent}}`;
}

function jsonValue(v: Entry['value'], indent: string): string {
  if (v === null) return '""';
  if (typeof v === 'boolean') return v ? '"1"' : '"0"';
  if (typeof v === 'string') return JSON.stringify(v);
  return jsonNode(v, indent);
}

/** The JSON text of one packet inside the top-level array (without separators). */
export function jsonPacket(r: PacketRecord): string {
  const i = '    ';
  return `  {\n${i}"_index": ${JSON.stringify(indexName(r))},\n${i}"_type": "doc",\n${i}"_score": null,\n`
    + `${i}"_source": {\n${i}  "layers": ${jsonNode(layers(r), i + '  ')}\n${i}}\n  }`;
}

/** Writes the packets as tshark -T json does: `[`, packets separated by `,`, `]`. */
export class JsonArrayWriter {
  private count = 0;
  constructor(private readonly write: (s: string) => void) {}

  packet(r: PacketRecord): void {
    this.write((this.count++ === 0 ? '[\n' : ',\n') + jsonPacket(r));
  }

  end(): void {
    this.write(this.count === 0 ? '[\n]\n' : '\n]\n');
  }
}

// ---- -T ek ------------------------------------------------------------------

type EkValue = string | boolean | null | EkValue[];

function flatten(n: Node, layer: string, into: Map<string, EkValue[]>): void {
  for (const e of n) {
    const key = `${layer}_${e.key.replace(/\./g, '_')}`;
    if (Array.isArray(e.value)) {
      push(into, key, null);
      flatten(e.value, layer, into);
    } else push(into, key, e.value);
  }
}

function push(m: Map<string, EkValue[]>, k: string, v: EkValue): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/** The two lines of one packet in the bulk format. */
export function ekPacket(r: PacketRecord): string {
  const layerObjs = new Map<string, Map<string, EkValue[]>>();
  for (const e of layers(r, true)) {
    const k = e.key.replace(/\./g, '_');
    let m = layerObjs.get(k);
    if (!m) layerObjs.set(k, (m = new Map()));
    flatten(e.value as Node, k, m);
  }
  const doc: Record<string, Record<string, EkValue>> = {};
  for (const [layer, m] of layerObjs) {
    const o: Record<string, EkValue> = {};
    for (const [k, vs] of m) o[k] = vs.length === 1 ? vs[0]! : vs;
    doc[layer] = o;
  }
  const ms = BigInt(r.packet.tsSec) * 1000n + BigInt(Math.floor(r.packet.tsNsec / 1e6));
  return `${JSON.stringify({ index: { _index: indexName(r), _type: 'doc' } })}\n`
    + `${JSON.stringify({ timestamp: ms.toString(), layers: doc })}\n`;
}
