// The detail tree of one frame (`vvmp read -V`, the terminal UI's tree pane):
// built by walking the field table, so every node knows its bytes for the hex pane.

import type { AnalyzedFrame } from '../analysis/frame.js';
import { readField } from '../protocol/codec.js';
import { Header } from '../protocol/access.js';
import { isDevicesPayload } from '../protocol/decode.js';
import type { Severity } from '../protocol/expert.js';
import { HEADER, HEADER_SIZE, STATUSES, type BlockLayout, type FieldDef } from '../protocol/fields.js';
import { formatFieldValue } from './format.js';
import { formatTime } from './frameJson.js';

export interface TreeNode {
  label: string;
  /** Absolute byte range in the frame, for hex highlighting. */
  start?: number;
  length?: number;
  filter?: string;
  severity?: Severity;
  children?: TreeNode[];
}

function fieldNode(f: FieldDef, bytes: Uint8Array, base: number, label?: string): TreeNode {
  const v = readField(bytes, base, f);
  return { label: `${label ?? f.label}: ${formatFieldValue(f, v)}`, start: base + f.offset, length: f.width, filter: f.filter };
}

function blockNodes(block: BlockLayout, bytes: Uint8Array, base: number): TreeNode[] {
  return block.fields.map((f) => fieldNode(f, bytes, base));
}

export function frameTitle(f: AnalyzedFrame): string {
  const d = f.decoded;
  const kind = d.reply === null ? '' : d.reply ? ' Reply' : ' Request';
  return `VVMP ${d.name ?? '(no opcode)'}${kind}`;
}

export function buildTree(f: AnalyzedFrame): TreeNode[] {
  const d = f.decoded;
  const bytes = d.bytes;
  const n = bytes.length;
  const header: TreeNode[] = [];
  for (const fd of HEADER.fields) {
    if (fd.offset + fd.width > n) continue;
    if (fd === Header.field.opcode) {
      const op = d.header.opcode!;
      header.push({ label: `Opcode: ${d.name} ${d.reply ? 'reply' : 'request'} (0x${op.toString(16).padStart(4, '0')})`, start: 0, length: 2, filter: fd.filter });
    } else if (fd === Header.field.sub_opcode) {
      const sub = d.header.sub_opcode!;
      const hexv = `0x${sub.toString(16).padStart(2, '0')}`;
      if (d.reply) {
        header.push({ label: `Status: ${d.status} (${hexv})${sub in STATUSES ? '' : ' — not defined'}`, start: 28, length: 1, filter: 'vvmp.status' });
      } else {
        const meaning = d.def?.subops[sub];
        header.push({ label: `Sub-opcode: ${hexv}${meaning ? ` (${meaning})` : d.def ? ' — not valid here' : ''}`, start: 28, length: 1, filter: fd.filter });
      }
    } else if (fd === Header.field.dst_san && d.header.dst_san === 0xffffff) {
      header.push({ label: 'Destination SAN: all SANs (0xffffff)', start: fd.offset, length: fd.width, filter: fd.filter });
    } else if (fd === Header.field.checksum) {
      const verdict = d.checksumOk ? 'correct' : `✗ bytes sum to 0x${d.sum.toString(16).padStart(2, '0')}, expected 0`;
      header.push({ label: `Checksum: 0x${d.header.checksum!.toString(16).padStart(2, '0')} [${verdict}]`, start: 31, length: 1, filter: fd.filter, severity: d.checksumOk ? undefined : 'error' });
    } else {
      header.push(fieldNode(fd, bytes, 0));
    }
  }
  const root: TreeNode = { label: frameTitle(f), start: 0, length: n, children: header };
  const nodes: TreeNode[] = [
    {
      label: `Frame ${f.number}: ${n} bytes, packet ${f.packet}, ${f.transport.toUpperCase()} ${f.srcText} → ${f.dstText}`,
      children: [
        { label: `Time: ${formatTime(f.tsSec, f.tsNsec, f.tsDigits)}` },
        ...(f.session ? [{ label: `Session: ${f.session}`, filter: 'vvmp.session' }] : []),
        ...(f.latencyMs !== null ? [{ label: `Reply to frame ${f.peer} after ${f.latencyMs} ms` }] : []),
        ...(f.latencyMs === null && f.peer !== null ? [{ label: `Answered in frame ${f.peer}` }] : []),
      ],
    },
    root,
  ];
  const block = d.payloadBlock;
  if (block && d.payload) {
    if (isDevicesPayload(d.payload)) {
      const count = d.payload.devices.length;
      root.children!.push({
        label: `Device records: ${count}`,
        start: HEADER_SIZE,
        length: count * block.size,
        children: d.payload.devices.map((_, i) => ({
          label: `${block.label} ${i + 1}`,
          start: HEADER_SIZE + i * block.size,
          length: block.size,
          children: blockNodes(block, bytes, HEADER_SIZE + i * block.size),
        })),
      });
    } else {
      root.children!.push({ label: block.label, start: HEADER_SIZE, length: block.size, children: blockNodes(block, bytes, HEADER_SIZE) });
    }
  } else if (n > HEADER_SIZE) {
    root.children!.push({ label: `Payload: ${n - HEADER_SIZE} bytes (not decoded)`, start: HEADER_SIZE, length: n - HEADER_SIZE });
  }
  if (f.expert.length) {
    nodes.push({
      label: `Expert: ${f.expert.length} finding${f.expert.length === 1 ? '' : 's'}`,
      children: f.expert.map((x) => ({ label: `${x.severity} ${x.code} — ${x.message}`, severity: x.severity, filter: 'expert.code' })),
    });
  }
  return nodes;
}

/** The tree as indented text lines (`vvmp read -V`), with byte offsets. */
export function treeLines(nodes: TreeNode[], depth = 0, out: string[] = []): string[] {
  for (const node of nodes) {
    const where = node.start !== undefined && node.length !== undefined && depth > 0
      ? `[${node.start}..${node.start + node.length - 1}] `.padEnd(10)
      : '';
    out.push(`${'    '.repeat(depth)}${where}${node.label}`);
    if (node.children) treeLines(node.children, depth + 1, out);
  }
  return out;
}
