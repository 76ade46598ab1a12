// What a capture held that could not be decoded as it stands. Never silent: each kind is one
// stderr line with its count (cli/report.ts) and a count in `stats` (text and JSON `undecoded`).
//
//   pcap_version     the file header names a pcap version other than 2.x: records read as 2.4
//   oversize_packet  a packet record larger than MAX_RECORD: skipped without being read into memory
//   oversize_block   any other pcapng block larger than that: skipped likewise
//   over_snaplen     a pcapng packet longer than its interface's snapshot length: kept whole
//   link_type        packets of a link type vvmp cannot decode (counted by the network layer)

export type NoteKind = 'pcap_version' | 'oversize_packet' | 'oversize_block' | 'over_snaplen' | 'link_type';

export interface CaptureNote {
  kind: NoteKind;
  /** The version ("7.3"), the limit or snapshot length, the link type number. */
  detail: string;
  /** Packets (blocks for oversize_block) concerned. */
  count: number;
  /** Bytes skipped (oversize kinds); 0 otherwise. */
  bytes: number;
}

/** Largest packet record read (libpcap's and Wireshark's largest snapshot length). */
export const MAX_RECORD = 262144;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The short name of a note: its key in `stats` (JSON `undecoded`, text "Not decoded"). */
export function noteKey(n: CaptureNote): string {
  switch (n.kind) {
    case 'pcap_version': return `pcap version ${n.detail}`;
    case 'oversize_packet': return `packet over ${n.detail} bytes`;
    case 'oversize_block': return `block over ${n.detail} bytes`;
    case 'over_snaplen': return 'packet over its snaplen';
    case 'link_type': return `link type ${n.detail}`;
  }
}

/** The stderr sentence of a note (without the file name). */
export function noteText(n: CaptureNote): string {
  switch (n.kind) {
    case 'pcap_version':
      return `the file header says pcap version ${n.detail} (not 2.x): ${plural(n.count, 'packet')} read as version 2.4`;
    case 'oversize_packet':
      return `${plural(n.count, 'packet')} larger than ${n.detail} bytes skipped unread (${n.bytes} bytes)`;
    case 'oversize_block':
      return `${plural(n.count, 'block')} larger than ${n.detail} bytes skipped unread (${n.bytes} bytes)`;
    case 'over_snaplen':
      return `${plural(n.count, 'packet')} longer than their interface's snapshot length (kept whole)`;
    case 'link_type':
      return `${plural(n.count, 'packet')} of link type ${n.detail} not decoded (a link layer vvmp does not know)`;
  }
}

/** Notes for the network layer's `link type N` counts (NetCounters.undecoded). */
export function linkTypeNotes(undecoded: ReadonlyMap<string, number>): CaptureNote[] {
  const out: CaptureNote[] = [];
  for (const [reason, count] of undecoded) {
    const m = /^link type (\d+)$/.exec(reason);
    if (m) out.push({ kind: 'link_type', detail: m[1]!, count, bytes: 0 });
  }
  return out.sort((a, b) => Number(a.detail) - Number(b.detail));
}

/** Several files' notes as one list: same kind and detail summed, in first-seen order. */
export function mergeNotes(lists: Iterable<readonly CaptureNote[]>): CaptureNote[] {
  const byKey = new Map<string, CaptureNote>();
  for (const list of lists) {
    for (const n of list) {
      const k = `${n.kind}/${n.detail}`;
      const m = byKey.get(k);
      if (m) {
        m.count += n.count;
        m.bytes += n.bytes;
      } else byKey.set(k, { ...n });
    }
  }
  return [...byKey.values()];
}
