import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoModelInfo } from './info.js';

export { type DemoModelInfo, demoModelInfo } from './info.js';

// The CJS build has `__dirname`; the ESM build has `import.meta.url` (and no `__dirname`). Both sit
// in dist/, beside model/ as the source sits in src/.
const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));

/**
 * Absolute path of the bundled GGUF file (about 6 MB): a Llama with 5.6M parameters in Q8_0, for
 * `loadModel` from `@x/model`, llama.cpp or any GGUF reader. Node only.
 */
export const demoModelPath: string = join(here, '..', 'model', demoModelInfo.file);
