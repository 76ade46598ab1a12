// A JSON writer for values JSON.stringify cannot write exactly: bigint (u64
// counters) as plain digits, and numbers pre-formatted as text (timestamps
// at the capture's own resolution).

/** A number already formatted as JSON number text (e.g. `1700000000.123456789`). */
export class RawNumber {
  constructor(readonly text: string) {}
}

export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | RawNumber
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

export function toJson(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'bigint':
      return v.toString();
    case 'string':
      return JSON.stringify(v);
    default:
      break;
  }
  if (v instanceof RawNumber) return v.text;
  if (Array.isArray(v)) return '[' + v.map((x) => toJson(x)).join(',') + ']';
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    parts.push(JSON.stringify(k) + ':' + toJson(x as JsonValue));
  }
  return '{' + parts.join(',') + '}';
}
