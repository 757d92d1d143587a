// Node entry: the engine loads models from paths, sizes a CPU KV pool from free memory and loads
// xgrammar from its UMD bundle.
import { freemem } from 'node:os';
import { loadModel } from '@x/model';
import { loadXGrammarNode } from './grammar/xgrammar-node.js';
import { setEnginePlatform } from './platform.js';

setEnginePlatform({ loadModel, freeMemoryBytes: freemem, loadXGrammar: loadXGrammarNode });

export * from './public.js';
