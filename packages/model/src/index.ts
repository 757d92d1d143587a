export { fileSource } from './node/file-source.js';
export { loadModel } from './node/load-model.js';
export { writeFileChunks } from './node/write-file.js';
export * from './public.js';
