// Filter fields about where and when a frame was captured: frame.*, ip.*,
// tcp.*, udp.*, and its expert findings (named as in Wireshark).

import type { AnalyzedFrame } from '../frame.js';
import { EXPERT_CODES, severityRank, type Severity } from '../../protocol/expert.js';
import type { FilterField, TimeField, TimeValue, Visit } from './fieldTypes.js';
import { nameTable, narrow, proto, single, str, withPresent, yes } from './helpers.js';

function port(name: string, help: string, transport: 'tcp' | 'udp', side: 'src' | 'dst' | 'any'): FilterField {
  const some: Visit<number> = side === 'any'
    ? (f, p) => f.transport === transport && (p(f.src.port) || p(f.dst.port))
    : side === 'src'
      ? (f, p) => f.transport === transport && p(f.src.port)
      : (f, p) => f.transport === transport && p(f.dst.port);
  return narrow(name, help, some);
}

/** `out` = a − b for two (sec, nsec) times. */
function diff(aSec: number, aNsec: number, bSec: number, bNsec: number, out: TimeValue): void {
  let sec = aSec - bSec;
  let nsec = aNsec - bNsec;
  if (nsec < 0) {
    nsec += 1e9;
    sec--;
  }
  out.sec = sec;
  out.nsec = nsec;
}

function absolute(name: string, help: string): TimeField {
  return {
    name, help, type: 'time', relative: false, present: yes,
    get: (f, out) => {
      out.sec = f.tsSec;
      out.nsec = f.tsNsec;
      return true;
    },
  };
}

const SEVERITIES: readonly Severity[] = ['note', 'warning', 'error'];

export function frameFields(): FilterField[] {
  const packetBytes: Visit<Buffer> = (f, p) => f.packetData !== undefined && f.packetData.length > 0 && p(f.packetData);
  return [
    proto('frame', 'Any frame; as bytes, the captured packet that completed it, all layers (frame[0:6], frame contains)',
      yes, packetBytes),
    narrow('frame.number', 'VVMP frame number (from 1)', single((f) => f.number)),
    narrow('frame.packet', 'Capture packet number holding the frame\'s last byte (tshark\'s frame.number)', single((f) => f.packet)),
    absolute('frame.time', 'Capture time: a date "Dec  2, 2026 13:00:00[.frac]" or "2026-12-02 13:00:00[.frac]" in UTC, or epoch seconds'),
    absolute('frame.time_epoch', 'Capture time as epoch seconds (e.g. 1700000000.5); dates as for frame.time'),
    {
      name: 'frame.time_relative', type: 'time', relative: true, help: 'Seconds since the capture\'s first packet',
      present: (f) => f.firstSec !== undefined,
      get: (f, out) => {
        if (f.firstSec === undefined) return false;
        diff(f.tsSec, f.tsNsec, f.firstSec, f.firstNsec!, out);
        return true;
      },
    },
    {
      name: 'frame.time_delta', type: 'time', relative: true, help: 'Seconds since the previous captured packet (0 for the first)',
      present: (f) => f.prevSec !== undefined,
      get: (f, out) => {
        if (f.prevSec === undefined) return false;
        diff(f.tsSec, f.tsNsec, f.prevSec, f.prevNsec!, out);
        return true;
      },
    },
    {
      name: 'frame.time_delta_displayed', type: 'time', relative: true, stateful: true, present: yes,
      help: 'Seconds since the previous frame this filter selected (0 until one is), as in tshark',
      get: (f, out, st) => {
        if (!st.shown) {
          out.sec = 0;
          out.nsec = 0;
        } else diff(f.tsSec, f.tsNsec, st.lastSec, st.lastNsec, out);
        return true;
      },
    },
    narrow('frame.len', 'Frame length in bytes', single((f) => f.decoded.bytes.length)),

    proto('ip', 'IPv4 or IPv6', yes),
    { name: 'ip.addr', help: 'Source or destination IP address (IPv4/IPv6, CIDR accepted)', type: 'ip',
      ...withPresent<string>((f, p) => p(f.src.ip) || p(f.dst.ip)) },
    { name: 'ip.src', help: 'Source IP address', type: 'ip', ...withPresent(single((f) => f.src.ip)) },
    { name: 'ip.dst', help: 'Destination IP address', type: 'ip', ...withPresent(single((f) => f.dst.ip)) },
    str('transport', 'Transport: tcp or udp', single((f) => f.transport), { names: ['tcp', 'udp'] }),
    proto('tcp', 'Carried over TCP', (f) => f.transport === 'tcp'),
    port('tcp.port', 'TCP source or destination port', 'tcp', 'any'),
    port('tcp.srcport', 'TCP source port', 'tcp', 'src'),
    port('tcp.dstport', 'TCP destination port', 'tcp', 'dst'),
    narrow('tcp.stream', 'Index of the TCP connection among all of the capture\'s, from 0 in order of first appearance',
      single((f) => (f.transport === 'tcp' ? f.stream : null))),
    proto('udp', 'Carried over UDP', (f) => f.transport === 'udp'),
    port('udp.port', 'UDP source or destination port', 'udp', 'any'),
    port('udp.srcport', 'UDP source port', 'udp', 'src'),
    port('udp.dstport', 'UDP destination port', 'udp', 'dst'),
    narrow('udp.stream', 'Index of the UDP conversation (address and port pair) among all of the capture\'s, from 0',
      single((f) => (f.transport === 'udp' ? f.stream : null))),

    proto('expert', 'Any expert finding', (f) => f.expert.length > 0),
    str('expert.code', 'Code of any expert finding, e.g. checksum_bad', (f, p) => {
      const xs = f.expert;
      for (let i = 0; i < xs.length; i++) if (p(xs[i]!.code)) return true;
      return false;
    }, { names: Object.keys(EXPERT_CODES) }),
    narrow('expert.severity', 'Severity of any expert finding: note < warning < error', (f, p) => {
      const xs = f.expert;
      for (let i = 0; i < xs.length; i++) if (p(severityRank(xs[i]!.severity))) return true;
      return false;
    }, nameTable(SEVERITIES.map((s) => [s, { value: BigInt(severityRank(s)) }] as const))),
    str('expert.message', 'Message of any expert finding', (f, p) => {
      const xs = f.expert;
      for (let i = 0; i < xs.length; i++) if (p(xs[i]!.message)) return true;
      return false;
    }),
  ];
}
