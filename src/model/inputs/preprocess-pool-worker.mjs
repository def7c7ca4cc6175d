// Worker-thread entry of PreprocessPool (./preprocess-pool.ts). Plain JavaScript because a worker starts with no
// TypeScript loader of its own: vitest's transforms live in the parent only, and `bin/internvl-eval.js` registers
// tsx in the main thread only. So this file registers tsx for this thread, then hands over to the typed module.
import { register } from 'tsx/esm/api';

register();
const { serveWorker } = await import('./preprocess-pool.ts');
serveWorker();
