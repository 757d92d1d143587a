// Browser entry: everything but the file-system loaders (load with `blobSource` instead).
export * from './public.js';
