// Worker bootstrap for `vvmp stats` on several files: loads the TypeScript
// worker through tsx (as bin/vvmp.js does for the main thread).
import { register } from 'tsx/esm/api';

register();
await import('./statsWorker.ts');
