// Compares what tshark with the generated Lua dissector shows for a capture
// with what our own code decodes, frame by frame: every field value (by filter
// name), the checksum verdict and the per-frame expert codes.
//
// Two references:
// * decodeFrame on the very bytes tshark dissected (its `vvmp_raw`): checks the
//   Lua's field decoding and findings. Always done.
// * `vvmp read FILE --json` when it runs: checks framing too (which frames,
//   completed by which packet, in which order) and the read output's values,
//   the session included (tshark runs two passes for it).
//   Skipped with a note when the command does not work (yet).
//
// Usage: compareWithTshark('captures/x.pcap') → CompareResult (mismatches: []),
// or from the shell: npx tsx test/dissector/compare.ts [--heuristic] [--port N] FILES…
//
// Known differences, by design, listed apart and not counted as mismatches: an
// empty UDP datagram (Wireshark calls no dissector for it), a TCP frame cut off
// by the end of the stream (never a complete PDU for Wireshark), a tcp_desync
// frame and what Wireshark frames after it in that direction (we stop
// framing). Not classified (shown as framing mismatches): frames around a
// tcp_gap (the two resynchronise differently; read records do not carry
// tcp_gap, OUTPUT.md convention 8).

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeFrame, isDevicesPayload, type DecodedFrame } from '../../src/protocol/decode.js';
import { HEADER, HEADER_SIZE, type BlockLayout } from '../../src/protocol/fields.js';
import type { BlockRecord } from '../../src/protocol/codec.js';
import { FRAME_EXPERT_CODES, generateLuaDissector } from '../../src/dissector/lua.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VVMP_BIN = path.join(ROOT, 'bin/vvmp.js');
const P = HEADER.prefix;

/** Field values by filter name, in tree order; values canonical: decimal integers, "1"/"0" for booleans. */
export type FieldValues = Map<string, string[]>;

export interface TsharkFrame {
  /** tshark's frame.number: the capture packet the frame was dissected in. */
  packet: number;
  /** Index of the frame within its packet (several TCP frames per segment). */
  index: number;
  transport: 'udp' | 'tcp';
  /** "a.b.c.d:port" or "[v6]:port", as `vvmp read --json` writes endpoints. */
  src: string;
  dst: string;
  /** The bytes the Lua dissector was given: a UDP datagram or one TCP frame. */
  bytes: Buffer;
  fields: FieldValues;
  /** Per-frame expert codes, sorted. */
  expert: string[];
}

export interface Mismatch {
  /** 1-based position in tshark's frame order. */
  frame: number;
  packet: number;
  reference: 'decodeFrame' | 'vvmp-read' | 'framing';
  field: string;
  tshark: string;
  ours: string;
}

export interface KnownDifference {
  /** `vvmp read`'s frame number and packet. */
  frame: number;
  packet: number;
  reason: string;
}

export interface CompareResult {
  file: string;
  frames: TsharkFrame[];
  /** Frames whose checksum tshark judged bad (decodeFrame agrees unless a mismatch says otherwise). */
  checksumBad: number;
  /** References that were used. */
  references: Array<'decodeFrame' | 'vvmp-read'>;
  /** Why `vvmp read --json` was not used, when it was not. */
  readSkipped: string | null;
  /** tshark's complaint when it stopped early (damaged, cut-off or unsupported file), else null. */
  tsharkNote: string | null;
  /** `vvmp read` frames that Wireshark by design never dissects (not counted as mismatches). */
  knownDifferences: KnownDifference[];
  mismatches: Mismatch[];
}

export interface CompareOptions {
  /** A Lua dissector file to use instead of a freshly generated one. */
  lua?: string;
  /** tshark binary (default `tshark`). */
  tshark?: string;
  /** Extra tshark arguments, e.g. ['-o', 'vvmp.heuristic:TRUE']. */
  tsharkArgs?: string[];
  /** Use `vvmp read --json` when it works (default true). */
  useRead?: boolean;
  /** Arguments passed to `vvmp read` as well (e.g. ['--heuristic']). */
  readArgs?: string[];
  /** Called with tshark's message when it stopped early on a damaged or unsupported file. */
  onTsharkNote?: (message: string) => void;
  /** Stop listing mismatches after this many (default 200). */
  maxMismatches?: number;
}

// ---- tshark ------------------------------------------------------------------------

/** Writes the generated dissector to a temporary file; returns its path. */
export function writeLuaDissector(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-lua-'))): string {
  const file = path.join(dir, 'vvmp.lua');
  fs.writeFileSync(file, generateLuaDissector());
  return file;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function canonValue(v: string): string {
  if (/^0x[0-9a-f]+$/i.test(v) || /^\d+$/.test(v)) return BigInt(v).toString();
  return v;
}

function push(m: FieldValues, k: string, v: string): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/** Walks one tshark JSON item tree, collecting `vvmp.*` field values and expert codes. */
function walk(o: { [k: string]: Json }, fields: FieldValues, expert: string[]): void {
  for (const [k, v] of Object.entries(o)) {
    if (k.endsWith('_raw')) continue;
    const items = Array.isArray(v) ? v : [v];
    if (k === '_ws.expert') {
      for (const e of items) {
        if (e && typeof e === 'object' && !Array.isArray(e)) {
          for (const ek of Object.keys(e)) if (ek.startsWith(`${P}.expert.`)) expert.push(ek.slice(P.length + 8));
        }
      }
      continue;
    }
    if (k.endsWith('_tree')) {
      for (const t of items) if (t && typeof t === 'object' && !Array.isArray(t)) walk(t, fields, expert);
      continue;
    }
    for (const it of items) {
      if (typeof it === 'string') {
        if (k.startsWith(`${P}.`)) push(fields, k, canonValue(it));
      } else if (it && typeof it === 'object' && !Array.isArray(it)) {
        if (k.startsWith(`${P}.`)) push(fields, k, ''); // an item with children and no value (a block)
        walk(it, fields, expert);
      }
    }
  }
}

/**
 * Runs a command with stdout to a temporary file (outputs may exceed what one
 * string can hold); returns the file, the exit status and stderr.
 */
function runToFile(cmd: string, args: string[], cwd?: string): { out: string; status: number | null; stderr: string; error?: Error } {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-cmp-')), 'stdout');
  const fd = fs.openSync(out, 'w');
  try {
    const r = spawnSync(cmd, args, { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', cwd, maxBuffer: 1 << 26 });
    return { out, status: r.status, stderr: r.stderr ?? '', error: r.error };
  } finally {
    fs.closeSync(fd);
  }
}

/** Calls `fn` for each line of a file, reading 4 MiB at a time. */
function forEachLine(file: string, fn: (line: string) => void): void {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 << 20);
  let rest = '';
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const text = rest + buf.toString('utf8', 0, n);
      const lines = text.split('\n');
      rest = lines.pop()!;
      for (const l of lines) fn(l);
    }
    if (rest) fn(rest);
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs tshark with the Lua dissector over a capture; returns every VVMP frame it shows. */
export function tsharkFrames(captureFile: string, opts: CompareOptions = {}): TsharkFrame[] {
  const lua = opts.lua ?? writeLuaDissector();
  try {
    return tsharkFramesWith(captureFile, lua, opts);
  } finally {
    if (!opts.lua) fs.rmSync(path.dirname(lua), { recursive: true, force: true });
  }
}

function tsharkFramesWith(captureFile: string, lua: string, opts: CompareOptions): TsharkFrame[] {
  const r = runToFile(opts.tshark ?? 'tshark', [
    // -2: a request's session may come from its later reply (src/dissector/luaSessions.ts).
    '-2', '-r', captureFile, '-X', `lua_script:${lua}`, '-T', 'json', '-x', '--no-duplicate-keys', '-Y', P,
    ...(opts.tsharkArgs ?? []),
  ]);
  try {
    if (r.error) throw r.error;
    const msg = r.stderr.split('\n').filter((l) => l.trim() && !/Running as user/.test(l)).join(' ').replace(/^tshark: /, '').trim();
    // A damaged or cut-off file: tshark shows what it read before the damage, then exits 2.
    const damaged = /damaged|cut short|corrupt|doesn't support|unknown or unsupported|isn't a capture file/i.test(msg);
    if (r.status !== 0 && !damaged) throw new Error(`tshark exited ${r.status}: ${msg}`);
    if (/lua/i.test(msg)) throw new Error(`tshark: ${msg}`);
    if (r.status !== 0 && opts.onTsharkNote) opts.onTsharkNote(msg);
    const frames: TsharkFrame[] = [];
    // tshark prints one packet object per "  {" … "  }" block at two spaces of indent.
    let lines: string[] = [];
    forEachLine(r.out, (line) => {
      if (line === '  {') lines = [line];
      else if (lines.length) {
        lines.push(line);
        if (line === '  }' || line === '  },') {
          lines[lines.length - 1] = '  }';
          packetFrames(JSON.parse(lines.join('\n')) as TsharkPacket, frames);
          lines = [];
        }
      }
    });
    return frames;
  } finally {
    fs.rmSync(path.dirname(r.out), { recursive: true, force: true });
  }
}

interface TsharkPacket {
  _source: { layers: { [k: string]: Json } };
}

/** The first of a value tshark may have merged into an array (tunnels: several IP layers). */
function firstOf(v: Json | undefined): Json | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function packetFrames(pk: TsharkPacket, frames: TsharkFrame[]): void {
  const layers = pk._source.layers;
  const frameLayer = layers.frame as { [k: string]: Json };
  const packet = Number(frameLayer['frame.number']);
  const transport = layers.tcp !== undefined ? 'tcp' : 'udp';
  const l4 = (layers[transport] ?? {}) as { [k: string]: Json };
  const ip4 = layers.ip as { [k: string]: Json } | undefined;
  const ip6 = layers.ipv6 as { [k: string]: Json } | undefined;
  const addr = (side: 'src' | 'dst'): string => {
    const a = ip6 ? `[${String(firstOf(ip6[`ipv6.${side}`]))}]` : String(firstOf(ip4?.[`ip.${side}`]));
    return `${a}:${String(firstOf(l4[`${transport}.${side}port`]))}`;
  };
  const src = addr('src');
  const dst = addr('dst');
  const protos = layers[P];
  const raws = layers[`${P}_raw`];
  if (protos === undefined || raws === undefined) return;
  const protoList = Array.isArray(protos) ? protos : [protos];
  const rawList = (Array.isArray(raws) && Array.isArray(raws[0]) ? raws : [raws]) as Json[][];
  if (protoList.length !== rawList.length) throw new Error(`packet ${packet}: ${protoList.length} VVMP trees, ${rawList.length} raw ranges`);
  protoList.forEach((proto, index) => {
    const fields: FieldValues = new Map();
    const expert: string[] = [];
    walk(proto as { [k: string]: Json }, fields, expert);
    frames.push({
      packet, index, transport, src, dst, bytes: Buffer.from(String(rawList[index]![0]), 'hex'), fields, expert: expert.sort(),
    });
  });
}

// ---- our side ----------------------------------------------------------------------

function setBits(fields: FieldValues, block: BlockLayout, rec: BlockRecord): void {
  for (const f of block.fields) {
    const v = rec[f.name]!;
    push(fields, f.filter, BigInt(v).toString());
    for (const b of f.bits ?? []) push(fields, `${f.filter}.${b.name.toLowerCase()}`, (Number(v) >> b.bit) & 1 ? '1' : '0');
    if (f.reservedMask) {
      let shift = 0;
      while (!((f.reservedMask >> shift) & 1)) shift++;
      push(fields, `${f.filter}.reserved`, String((Number(v) & f.reservedMask) >>> shift));
    }
  }
}

/** What the generated dissector must show for a decoded frame, in the same canonical form. */
export function expectedFields(d: DecodedFrame): FieldValues {
  const m: FieldValues = new Map();
  const h = d.header as unknown as Record<string, number | bigint | null>;
  for (const f of HEADER.fields) {
    const v = h[f.name];
    if (v !== null && v !== undefined) push(m, f.filter, BigInt(v).toString());
  }
  if (d.reply !== null) {
    push(m, `${P}.reply`, d.reply ? '1' : '0');
    push(m, `${P}.name`, d.name!);
  }
  if (d.reply && d.header.sub_opcode !== null) push(m, `${P}.status`, String(d.header.sub_opcode));
  push(m, `${P}.checksum_ok`, d.checksumOk ? '1' : '0');
  if (d.trailing > 0) push(m, `${P}.trailing`, 'bytes');
  const block = d.payloadBlock;
  if (block && d.payload) {
    const recs = isDevicesPayload(d.payload) ? d.payload.devices : [d.payload];
    for (const rec of recs) {
      push(m, block.prefix, '');
      setBits(m, block, rec);
    }
    const sf = block.fields.find((f) => f.name === 'session_id');
    if (!block.repeated && sf && sf.width === 2) push(m, `${P}.session_id`, String(recs[0]!.session_id));
  } else if (d.bytes.length > HEADER_SIZE) {
    push(m, `${P}.payload`, 'bytes'); // payload bytes present but not decoded
  }
  return m;
}

/** Exchange fields (need the analysis, not the frame alone): checked by filters.test.ts; the session against read. */
const EXCHANGE_FIELDS = new Set([`${P}.response_in`, `${P}.response_to`, `${P}.time`, `${P}.session`]);

/** Bytes fields (payload, trailing) are compared for presence only. */
const BYTES_FIELDS = new Set([`${P}.payload`, `${P}.trailing`]);

function normalise(m: FieldValues): FieldValues {
  const out: FieldValues = new Map();
  for (const [k, vs] of m) if (!EXCHANGE_FIELDS.has(k)) out.set(k, BYTES_FIELDS.has(k) ? vs.map(() => 'bytes') : vs);
  return out;
}

function diffFields(a: FieldValues, b: FieldValues, report: (field: string, tshark: string, ours: string) => void): void {
  const na = normalise(a);
  const nb = normalise(b);
  for (const k of new Set([...na.keys(), ...nb.keys()])) {
    const x = (na.get(k) ?? []).join(',');
    const y = (nb.get(k) ?? []).join(',');
    if (x !== y) report(k, na.has(k) ? x : '(absent)', nb.has(k) ? y : '(absent)');
  }
}

// ---- vvmp read --json ------------------------------------------------------------

interface ReadRecord {
  frame: number;
  packet: number;
  transport: string;
  src: string;
  dst: string;
  opcode: number | null;
  sub_opcode: number | null;
  src_san: number | null;
  dst_san: number | null;
  client_id: string | null;
  server_id: string | null;
  transaction_id: number | null;
  length: number | null;
  checksum: number | null;
  checksum_ok: boolean;
  name: string | null;
  session: string | null;
  payload: null | Record<string, number> | { devices: Record<string, number>[] };
  expert: { code: string; message?: string }[];
}

/**
 * JSON.parse keeping integers beyond 2^53 exact (read --json writes u64
 * counters as plain numbers): long integer literals become strings first.
 */
function parseExact(line: string): ReadRecord {
  return JSON.parse(line.replace(/([:,[]\s*)(\d{16,})(?=\s*[,\]}])/g, '$1"$2"')) as ReadRecord;
}

/** Runs `vvmp read FILE --json`; the reason instead when it does not work. */
export function vvmpRead(captureFile: string, args: string[] = []): { records: ReadRecord[] } | { skipped: string } {
  const r = runToFile(process.execPath, [VVMP_BIN, 'read', captureFile, '--json', ...args], ROOT);
  try {
    if (r.error) return { skipped: `vvmp read: ${r.error.message}` };
    if (r.status !== 0) {
      const first = r.stderr.split('\n').find((l) => l.trim() && !/^\s+at /.test(l)) ?? '';
      return { skipped: `vvmp read exited ${r.status}: ${first.trim().slice(0, 200)}` };
    }
    const records: ReadRecord[] = [];
    forEachLine(r.out, (l) => {
      if (l.trim()) records.push(parseExact(l));
    });
    records.sort((a, b) => a.frame - b.frame);
    return { records };
  } catch (e) {
    return { skipped: `vvmp read --json: unparsable output (${(e as Error).message})` };
  } finally {
    fs.rmSync(path.dirname(r.out), { recursive: true, force: true });
  }
}

/** The fields of a `read --json` record in the canonical form (header, derived, payload). */
function readFields(r: ReadRecord): Map<string, string> {
  const m = new Map<string, string>();
  const h = r as unknown as Record<string, number | string | null>;
  for (const f of HEADER.fields) {
    const v = h[f.name];
    if (v !== null && v !== undefined) m.set(f.filter, BigInt(v).toString());
  }
  m.set(`${P}.checksum_ok`, r.checksum_ok ? '1' : '0');
  if (r.name !== null) m.set(`${P}.name`, r.name);
  if (r.session !== null) m.set(`${P}.session`, r.session);
  const p = r.payload;
  if (p) {
    const recs = 'devices' in p && Array.isArray(p.devices) ? p.devices : [p as Record<string, number>];
    const keys = new Set(recs.flatMap((x) => Object.keys(x)));
    for (const k of keys) m.set(`payload.${k}`, recs.map((x) => BigInt(x[k]!).toString()).join(','));
  }
  return m;
}

/** The same view of a tshark frame: payload fields keyed by bare name. */
function tsharkReadView(t: TsharkFrame): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of HEADER.fields) {
    const v = t.fields.get(f.filter);
    if (v) m.set(f.filter, v.join(','));
  }
  m.set(`${P}.checksum_ok`, (t.fields.get(`${P}.checksum_ok`) ?? ['']).join(','));
  const name = t.fields.get(`${P}.name`);
  if (name) m.set(`${P}.name`, name.join(','));
  const session = t.fields.get(`${P}.session`);
  if (session) m.set(`${P}.session`, session.join(','));
  for (const [k, v] of t.fields) {
    const mm = /^vvmp\.(alloc|device|init|free|sessref|stats)\.([a-z_]+)$/.exec(k);
    if (mm) m.set(`payload.${mm[2]}`, v.join(','));
  }
  return m;
}

// ---- the comparison ------------------------------------------------------------------

const FRAME_CODES: ReadonlySet<string> = new Set(FRAME_EXPERT_CODES);

/**
 * Why Wireshark by design shows no frame where `vvmp read` has one, or null:
 * an empty UDP payload is never handed to a subdissector, and a TCP frame cut
 * off by the end of the stream or capture is never a complete PDU.
 */
function knownGap(r: ReadRecord): string | null {
  const codes = new Set(r.expert.map((x) => x.code));
  if (codes.has('tcp_desync')) {
    return 'tcp_desync: frame over the receiver limit (we stop framing this direction; Wireshark reassembles it)';
  }
  if (r.transport === 'udp' && r.opcode === null && r.expert.some((x) => x.code === 'frame_short' && /^0 bytes/.test(x.message ?? ''))) {
    return 'empty UDP datagram (Wireshark hands no empty payload to a dissector)';
  }
  if (r.transport === 'tcp' && (codes.has('frame_short') || codes.has('frame_truncated'))) {
    return 'TCP frame cut off by the end of the stream (Wireshark never completes the PDU)';
  }
  return null;
}

function sameFrame(t: TsharkFrame, r: ReadRecord): boolean {
  if (t.packet !== r.packet || t.transport !== r.transport) return false;
  for (const name of ['opcode', 'transaction_id', 'length', 'checksum'] as const) {
    const v = t.fields.get(`${P}.${name}`)?.[0] ?? null;
    const w = r[name] === null ? null : String(r[name]);
    if (v !== w) return false;
  }
  return true;
}

/** Walks tshark's frames and read's records side by side (both in completion order). */
function alignWithRead(
  frames: TsharkFrame[], recs: ReadRecord[], add: (m: Mismatch) => void, known: KnownDifference[],
): void {
  let i = 0;
  let j = 0;
  /** Directions (src>dst) that `vvmp read` stopped framing after a tcp_desync. */
  const desynced = new Set<string>();
  while (i < recs.length || j < frames.length) {
    const r = recs[i];
    const t = frames[j];
    if (r && t && sameFrame(t, r)) {
      const report = (field: string, tshark: string, ours: string) =>
        add({ frame: j + 1, packet: t.packet, reference: 'vvmp-read', field, tshark, ours });
      const a = tsharkReadView(t);
      const b = readFields(r);
      for (const k of new Set([...a.keys(), ...b.keys()])) {
        if ((a.get(k) ?? '(absent)') !== (b.get(k) ?? '(absent)')) report(k, a.get(k) ?? '(absent)', b.get(k) ?? '(absent)');
      }
      const ours = r.expert.map((x) => x.code).filter((c) => FRAME_CODES.has(c)).sort();
      if (ours.join(',') !== t.expert.join(',')) report('expert', t.expert.join(','), ours.join(','));
      i++;
      j++;
      continue;
    }
    const why = r ? knownGap(r) : null;
    if (r && why) {
      known.push({ frame: r.frame, packet: r.packet, reason: why });
      if (r.expert.some((x) => x.code === 'tcp_desync')) desynced.add(`${r.src}>${r.dst}`);
      i++;
    } else if (t && t.transport === 'tcp' && desynced.has(`${t.src}>${t.dst}`) && (!r || r.packet >= t.packet)) {
      known.push({ frame: 0, packet: t.packet, reason: 'after tcp_desync: only Wireshark goes on framing this direction' });
      j++;
    } else if (r && (!t || r.packet <= t.packet)) {
      add({ frame: 0, packet: r.packet, reference: 'framing', field: `read frame ${r.frame}`, tshark: '(none)',
        ours: `${r.transport} ${r.name ?? '?'} tx=${r.transaction_id}` });
      i++;
    } else if (t) {
      add({ frame: j + 1, packet: t.packet, reference: 'framing', field: 'tshark frame', ours: '(none)',
        tshark: `${t.transport} ${(t.fields.get(`${P}.name`) ?? ['?'])[0]} tx=${(t.fields.get(`${P}.transaction_id`) ?? ['?'])[0]}` });
      j++;
    }
  }
}

export function compareWithTshark(captureFile: string, opts: CompareOptions = {}): CompareResult {
  const max = opts.maxMismatches ?? 200;
  let tsharkNote: string | null = null;
  const frames = tsharkFrames(captureFile, { ...opts, onTsharkNote: (m) => (tsharkNote = m) });
  const mismatches: Mismatch[] = [];
  const add = (m: Mismatch) => {
    if (mismatches.length < max) mismatches.push(m);
  };
  let checksumBad = 0;

  frames.forEach((t, i) => {
    const d = decodeFrame(t.bytes, { udp: t.transport === 'udp' });
    if (t.fields.get(`${P}.checksum_ok`)?.[0] === '0') checksumBad++;
    const report = (field: string, tshark: string, ours: string) =>
      add({ frame: i + 1, packet: t.packet, reference: 'decodeFrame', field, tshark, ours });
    diffFields(t.fields, expectedFields(d), report);
    const ours = d.findings.map((f) => f.code).filter((c) => FRAME_EXPERT_CODES.includes(c)).sort();
    if (ours.join(',') !== t.expert.join(',')) report('expert', t.expert.join(','), ours.join(','));
  });

  const references: CompareResult['references'] = ['decodeFrame'];
  let readSkipped: string | null = null;
  const known: KnownDifference[] = [];
  if (opts.useRead === false) {
    readSkipped = 'not requested';
  } else {
    const read = vvmpRead(captureFile, opts.readArgs);
    if ('skipped' in read) {
      readSkipped = read.skipped;
    } else {
      references.push('vvmp-read');
      alignWithRead(frames, read.records, add, known);
    }
  }
  return { file: captureFile, frames, checksumBad, references, readSkipped, tsharkNote, knownDifferences: known, mismatches };
}

/** One line per mismatch, for test failure messages and the lead's sweep over captures/. */
export function formatMismatches(r: CompareResult, limit = 20): string {
  const lines = r.mismatches.slice(0, limit).map((m) =>
    `${r.file} frame ${m.frame} (packet ${m.packet}) [${m.reference}] ${m.field}: tshark=${m.tshark} ours=${m.ours}`);
  if (r.mismatches.length > limit) lines.push(`… ${r.mismatches.length - limit} more`);
  return lines.join('\n');
}

// ---- command line: the sweep over captures/ ------------------------------------------------
//
//   npx tsx test/dissector/compare.ts [--heuristic] [--port N] captures/*.pcap*
//
// One line per file; the mismatches under it. Exit 1 when any file mismatches.

function sweep(argv: string[]): number {
  const files: string[] = [];
  const tsharkArgs: string[] = [];
  const readArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--heuristic') {
      tsharkArgs.push('-o', 'vvmp.heuristic:TRUE');
      readArgs.push('--heuristic');
    } else if (a === '--port') {
      const port = argv[++i]!;
      tsharkArgs.push('-o', `vvmp.port:${port}`);
      readArgs.push('--port', port);
    } else {
      files.push(a);
    }
  }
  const lua = writeLuaDissector();
  let bad = 0;
  for (const file of files) {
    try {
      const r = compareWithTshark(file, { lua, tsharkArgs, readArgs });
      const status = r.mismatches.length ? `${r.mismatches.length} MISMATCHES` : 'ok';
      process.stdout.write(`${file}: ${r.frames.length} frames, ${r.checksumBad} bad checksums, ` +
        `compared with ${r.references.join(' + ')}${r.readSkipped ? ` (read skipped: ${r.readSkipped})` : ''}` +
        `${r.knownDifferences.length ? `, ${r.knownDifferences.length} known differences` : ''}` +
        `${r.tsharkNote ? ` [tshark: ${r.tsharkNote.slice(0, 100)}]` : ''}: ${status}\n`);
      if (r.mismatches.length) {
        bad++;
        process.stdout.write(formatMismatches(r, 20).replace(/^/gm, '    ') + '\n');
      }
    } catch (e) {
      bad++;
      process.stdout.write(`${file}: ERROR ${(e as Error).message}\n`);
    }
  }
  fs.rmSync(path.dirname(lua), { recursive: true, force: true });
  return bad ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = sweep(process.argv.slice(2));
}
