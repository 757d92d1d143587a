// Browser entry: everything but loading a model from a path (pass a loaded Model instead).
export * from './public.js';
