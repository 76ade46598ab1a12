// Worker bootstrap for the capture-reading thread of `vvmp stats FILE`:
// loads the TypeScript worker through tsx (as bin/vvmp.js does for the main thread).
import { register } from 'tsx/esm/api';

register();
await import('./netWorker.ts');
