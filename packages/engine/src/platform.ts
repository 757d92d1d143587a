import type { Model } from '@x/model';
import type { LoadedXGrammar } from './grammar/xgrammar.js';

/** What the engine takes from its runtime; the Node entry fills it in, browsers leave it empty. */
export interface EnginePlatform {
  /** Loads a model from a path (Node: `@x/model`'s `loadModel`). */
  loadModel?: (path: string) => Promise<Model>;
  /** Free host memory in bytes, to size the KV pool of a CPU executor (Node: `os.freemem`). */
  freeMemoryBytes?: () => number;
  /** Loads xgrammar, the grammar engine of constrained generation (Node and browsers differ). */
  loadXGrammar?: () => LoadedXGrammar | Promise<LoadedXGrammar>;
}

let platform: EnginePlatform = {};

/** Sets the runtime hooks; the Node entry point calls it on import. */
export function setEnginePlatform(hooks: EnginePlatform): void {
  platform = { ...platform, ...hooks };
}

export function enginePlatform(): EnginePlatform {
  return platform;
}
