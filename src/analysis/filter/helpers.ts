// Small builders shared by the field declarations (vvmpFields.ts, frameFields.ts).

import type { AnalyzedFrame } from '../frame.js';
import type {
  BoolField, FloatField, IntConst, NameTable, NarrowUintField, ProtoField, StringField, Visit,
} from './fieldTypes.js';

export const yes = (): boolean => true;

export function nameTable(entries: Iterable<readonly [string, IntConst]>): NameTable {
  const byName = new Map<string, IntConst>();
  const list: string[] = [];
  for (const [name, c] of entries) {
    byName.set(name.toLowerCase(), c);
    list.push(name);
  }
  return { byName, list };
}

export function namesOf(names: Readonly<Record<number, string>>): NameTable {
  return nameTable(Object.entries(names).map(([v, n]) => [n, { value: BigInt(v) }] as const));
}

export function withPresent<T>(some: Visit<T>): { some: Visit<T>; present: (f: AnalyzedFrame) => boolean } {
  return { some, present: (f) => some(f, yes) };
}

export function single<T>(get: (f: AnalyzedFrame) => T | null | undefined): Visit<T> {
  return (f, p) => {
    const v = get(f);
    return v !== null && v !== undefined && p(v);
  };
}

export function narrow(name: string, help: string, some: Visit<number>, names?: NameTable): NarrowUintField {
  return { name, help, type: 'uint', wide: false, names, ...withPresent(some) };
}

export function float(name: string, help: string, some: Visit<number>): FloatField {
  return { name, help, type: 'float', ...withPresent(some) };
}

export function str(
  name: string, help: string, some: Visit<string>, extra: Partial<Pick<StringField, 'names' | 'canon'>> = {},
): StringField {
  return { name, help, type: 'string', ...extra, ...withPresent(some) };
}

export function bool(name: string, help: string, get: (f: AnalyzedFrame) => boolean | null): BoolField {
  return { name, help, type: 'bool', ...withPresent(single(get)) };
}

export function proto(name: string, help: string, present: (f: AnalyzedFrame) => boolean, raw?: Visit<Buffer>): ProtoField {
  return { name, help, type: 'proto', present, raw };
}
