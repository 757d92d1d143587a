// Browser entry: everything but loading a model from a path (pass a loaded Model instead).
import { loadXGrammarBrowser } from './grammar/xgrammar-browser.js';
import { setEnginePlatform } from './platform.js';

setEnginePlatform({ loadXGrammar: loadXGrammarBrowser });

export * from './public.js';
