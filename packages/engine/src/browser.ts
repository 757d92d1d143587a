// Browser entry: everything but loading a model from a path (pass a loaded Model instead) and
// xgrammar, which a page that constrains output passes in (see `xgrammarFromModule`).
export * from './public.js';
