// Worker bootstrap for `vvmp export -j N`: loads the TypeScript worker
// through tsx (as bin/vvmp.js does for the main thread).
import { register } from 'tsx/esm/api';

register();
await import('./exportWorker.ts');
