// One-line reports on stderr.

export function warn(message: string): void {
  process.stderr.write(`vvmp: ${message}\n`);
}

/** A capture damaged part-way was read up to the damage: say where (OUTPUT.md exit codes). */
export function reportDamage(file: string, result: { packets: number; damage: string | null }): void {
  if (result.damage) warn(`${file}: ${result.damage}; read ${result.packets} packets before it`);
}
