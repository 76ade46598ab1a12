#!/usr/bin/env node
// Entry point: runs the compiled sources (bin/compiled.mjs builds them when
// src/ changed); where no build can be made, the TypeScript through tsx.
import { compiled } from './compiled.mjs';

const entry = await compiled('cli/main.ts');
if (entry !== null) {
  await import(entry);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
