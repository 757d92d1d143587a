import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ByteSource } from '../byte-source.js';
import { ModelFileError } from '../errors.js';
import { loadGgufModel, loadHfModel, type Model } from '../load.js';
import { fileSource } from './file-source.js';

async function readJson(path: string, optional = false): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if (optional && (cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelFileError(`cannot read: ${(cause as Error).message}`, 'MODEL_IO', {
      file: path,
      cause,
    });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ModelFileError(`not valid JSON: ${(cause as Error).message}`, 'MODEL_CORRUPT', {
      file: path,
      cause,
    });
  }
}

/**
 * Loads a model from disk: a `.gguf` file, or a Hugging Face directory with `config.json`,
 * `tokenizer.json` and `model.safetensors` (or shards listed in `model.safetensors.index.json`).
 * @throws ModelFileError naming the file and the key or tensor at fault
 */
export async function loadModel(path: string): Promise<Model> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (cause) {
    throw new ModelFileError(`cannot read: ${(cause as Error).message}`, 'MODEL_IO', {
      file: path,
      cause,
    });
  }
  const sources: ByteSource[] = [];
  try {
    if (!isDirectory) {
      sources.push(await fileSource(path));
      return await loadGgufModel(sources[0] as ByteSource);
    }
    const config = await readJson(join(path, 'config.json'));
    const tokenizerPath = join(path, 'tokenizer.json');
    const tokenizer = await readJson(tokenizerPath, true);
    if (tokenizer === undefined) {
      throw new ModelFileError('no tokenizer.json in the model directory', 'MODEL_BAD_TOKENIZER', {
        file: tokenizerPath,
      });
    }
    const tokenizerConfig = await readJson(join(path, 'tokenizer_config.json'), true);
    const indexPath = join(path, 'model.safetensors.index.json');
    const shardIndex = (await readJson(indexPath, true)) as
      | { weight_map?: Record<string, string> }
      | undefined;
    let shards: string[];
    if (shardIndex === undefined) shards = ['model.safetensors'];
    else {
      if (typeof shardIndex.weight_map !== 'object' || shardIndex.weight_map === null) {
        throw new ModelFileError('weight_map is missing', 'MODEL_CORRUPT', {
          file: indexPath,
          key: 'weight_map',
        });
      }
      shards = [...new Set(Object.values(shardIndex.weight_map))].sort();
    }
    for (const shard of shards) sources.push(await fileSource(join(path, shard)));
    return await loadHfModel({
      name: path,
      config,
      tokenizer,
      tokenizerConfig,
      safetensors: sources,
    });
  } finally {
    await Promise.all(sources.map((s) => s.close?.()));
  }
}
