// Node entry: the engine loads models from paths and sizes a CPU KV pool from free memory.
import { freemem } from 'node:os';
import { loadModel } from '@x/model';
import { setEnginePlatform } from './platform.js';

setEnginePlatform({ loadModel, freeMemoryBytes: freemem });

export * from './public.js';
