// Exits 0 when Dawn (the `webgpu` package) finds a WebGPU adapter and opens a device on it.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(new URL('../packages/gpu-webgpu/package.json', import.meta.url));
const { create, globals } = await import(pathToFileURL(require.resolve('webgpu')).href);
Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter();
if (!adapter) process.exit(1);
const device = await adapter.requestDevice();
const { vendor, architecture, description } = adapter.info;
console.error(
  `xinfer: WebGPU adapter: ${[vendor, architecture, description].filter(Boolean).join(' / ')}`,
);
device.destroy();
process.exit(0);
