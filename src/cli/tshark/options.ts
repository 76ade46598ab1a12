// tshark's option values: -T, -E, -e, -d, -t, -z, -G, checked up front with a
// one-line usage error each.

import { compileFilter, type CompiledFilter } from '../../analysis/filter/index.js';
import { DEFAULT_FIELDS_LAYOUT, type FieldsLayout } from '../../output/tshark/fields.js';
import { TIME_FORMATS, type TimeFormat } from '../../output/tshark/time.js';
import { tsharkField } from '../../output/tshark/values.js';
import { UsageError, parseIntStrict } from '../errors.js';

export type OutputType = 'text' | 'fields' | 'json' | 'ek';
export const OUTPUT_TYPES: readonly OutputType[] = ['text', 'fields', 'json', 'ek'];

export function parseOutputType(v: string): OutputType {
  if ((OUTPUT_TYPES as readonly string[]).includes(v)) return v as OutputType;
  throw new UsageError(`-T: "${v}" is not an output format (${OUTPUT_TYPES.join(', ')})`);
}

export function parseTimeFormat(v: string): TimeFormat {
  if ((TIME_FORMATS as readonly string[]).includes(v)) return v as TimeFormat;
  throw new UsageError(`-t: "${v}" is not a time format (${TIME_FORMATS.join(', ')})`);
}

/** tshark's names for separator characters: /t tab, /s space; anything else is taken as it is. */
function sepChar(v: string): string {
  return v === '/t' ? '\t' : v === '/s' ? ' ' : v;
}

/** -e names and -E settings → the -T fields layout. */
export function fieldsLayout(names: readonly string[], settings: readonly string[]): FieldsLayout {
  const fields = names.map((n) => {
    const f = tsharkField(n);
    if (!f) throw new UsageError(`-e: "${n}" is not a field (vvmp read -G fields lists them)`);
    return f;
  });
  const l: FieldsLayout = { ...DEFAULT_FIELDS_LAYOUT, fields };
  for (const s of settings) {
    const m = /^([a-z]+)=(.*)$/.exec(s);
    if (!m) throw new UsageError(`-E: "${s}" is not NAME=VALUE (header, separator, quote, occurrence, aggregator)`);
    const [, key, val] = m as unknown as [string, string, string];
    switch (key) {
      case 'header':
        if (!/^[yn]$/.test(val)) throw new UsageError(`-E header: "${val}" is not y or n`);
        l.header = val === 'y';
        break;
      case 'separator':
        if (val === '') throw new UsageError('-E separator: empty');
        l.separator = sepChar(val);
        break;
      case 'aggregator':
        if (val === '') throw new UsageError('-E aggregator: empty');
        l.aggregator = sepChar(val);
        break;
      case 'quote':
        if (!/^[dsn]$/.test(val)) throw new UsageError(`-E quote: "${val}" is not d, s or n`);
        l.quote = val === 'd' ? '"' : val === 's' ? "'" : '';
        break;
      case 'occurrence':
        if (!/^[fla]$/.test(val)) throw new UsageError(`-E occurrence: "${val}" is not f, l or a`);
        l.occurrence = val as FieldsLayout['occurrence'];
        break;
      default:
        throw new UsageError(`-E: unknown setting "${key}" (header, separator, quote, occurrence, aggregator)`);
    }
  }
  return l;
}

/** `-d tcp.port==N,vvmp` / `-d udp.port==N,vvmp`: the port N to decode as VVMP (added to the others). */
export function parseDecodeAs(v: string): number {
  const m = /^(tcp|udp)\.port\s*==\s*([^,\s]+)\s*,\s*([a-z0-9_.]+)$/i.exec(v.trim());
  if (!m) throw new UsageError(`-d: "${v}" is not tcp.port==N,vvmp or udp.port==N,vvmp`);
  if (m[3]!.toLowerCase() !== 'vvmp') throw new UsageError(`-d: "${m[3]}" is not a protocol vvmp decodes (only vvmp)`);
  return parseIntStrict(m[2]!, '-d port', 1, 65535);
}

export type StatSpec =
  | { kind: 'srt'; filter: CompiledFilter | null }
  | { kind: 'conv'; transport: 'tcp' | 'udp'; filter: CompiledFilter | null }
  | { kind: 'endpoints'; filter: CompiledFilter | null }
  | { kind: 'io'; intervalUs: number; columns: (CompiledFilter | null)[] };

const Z_HELP = 'vvmp,srt, conv,tcp, conv,udp, endpoints,ip, io,stat,INTERVAL[,FILTER…]';

function optFilter(text: string | undefined): CompiledFilter | null {
  return text === undefined || text.trim() === '' ? null : compileFilter(text);
}

/** One -z argument. A trailing FILTER (as in tshark) limits the statistic to matching frames. */
export function parseStat(v: string): StatSpec {
  const parts = v.split(',');
  const [a, b] = parts;
  const rest = (n: number): string | undefined => (parts.length > n ? parts.slice(n).join(',') : undefined);
  if (a === 'vvmp' && b === 'srt') return { kind: 'srt', filter: optFilter(rest(2)) };
  if (a === 'conv' && (b === 'tcp' || b === 'udp')) return { kind: 'conv', transport: b, filter: optFilter(rest(2)) };
  if (a === 'endpoints' && b === 'ip') return { kind: 'endpoints', filter: optFilter(rest(2)) };
  if (a === 'io' && b === 'stat') {
    const iv = parts[2];
    if (iv === undefined || !/^\d+(\.\d{1,6})?$|^\.\d{1,6}$/.test(iv)) throw new UsageError(`-z io,stat: "${iv ?? ''}" is not an interval in seconds (e.g. 1 or 0.01)`);
    const intervalUs = Math.round(Number(iv) * 1e6);
    const columns = parts.length > 3 ? parts.slice(3).map((t) => optFilter(t)) : [null];
    return { kind: 'io', intervalUs, columns };
  }
  throw new UsageError(`-z: "${v}" is not a statistic vvmp has (${Z_HELP})`);
}
