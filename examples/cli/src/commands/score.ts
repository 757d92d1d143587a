import { readFile } from 'node:fs/promises';
import {
  computeColdStartScorecard,
  computeConcurrencyScalingScorecard,
  computeCorrectnessScorecard,
  computeLayerScorecard,
  computeMemoryScorecard,
  computeOutputLengthScorecard,
  computePowerEfficiencyScorecard,
  computeProfileScorecard,
  computeScorecard,
  defaultScoringContract,
  formatColdStartMarkdown,
  formatColdStartTable,
  formatCorrectnessMarkdown,
  formatCorrectnessTable,
  formatLayerMarkdown,
  formatLayerTable,
  formatMarkdown,
  formatMemoryMarkdown,
  formatMemoryTable,
  formatOutputLengthMarkdown,
  formatOutputLengthTable,
  formatPowerMarkdown,
  formatPowerTable,
  formatProfileMarkdown,
  formatProfileTable,
  formatScalingMarkdown,
  formatScalingTable,
  formatTable,
  parseLoadTestResult,
  parseScoringContract,
  type ScoredResult,
  type ScoringContract,
} from '@x/scoring';
import { Command, Option } from 'commander';
import { cannotRead } from '../errors.js';
import type { CliIo } from '../io.js';

/** A computed scorecard, ready to print. */
interface ComputedCard {
  json: object;
  table(): string;
  markdown(): string;
}

type CardKind = (
  results: ScoredResult[],
  c1: ScoredResult[] | undefined,
  contract: ScoringContract,
) => ComputedCard;

/** Binds a card's compute function to its two renderers. */
function cardKind<T extends object>(
  compute: (
    results: ScoredResult[],
    c1: ScoredResult[] | undefined,
    contract: ScoringContract,
  ) => T,
  table: (card: T) => string,
  markdown: (card: T) => string,
): CardKind {
  return (results, c1, contract) => {
    const card = compute(results, c1, contract);
    return { json: card, table: () => table(card), markdown: () => markdown(card) };
  };
}

/** The cards `--card` offers, in the order `--card all` prints them. */
export const CARDS: Record<string, CardKind> = {
  main: cardKind(computeScorecard, formatTable, formatMarkdown),
  layer: cardKind(
    (r, _, c) => computeLayerScorecard(r, c.grades),
    formatLayerTable,
    formatLayerMarkdown,
  ),
  profile: cardKind(
    (r, _, c) => computeProfileScorecard(r, c),
    formatProfileTable,
    formatProfileMarkdown,
  ),
  correctness: cardKind(
    (r, _, c) => computeCorrectnessScorecard(r, c.grades),
    formatCorrectnessTable,
    formatCorrectnessMarkdown,
  ),
  'output-length': cardKind(
    (r, _, c) => computeOutputLengthScorecard(r, c),
    formatOutputLengthTable,
    formatOutputLengthMarkdown,
  ),
  memory: cardKind(
    (r, _, c) => computeMemoryScorecard(r, c.grades),
    formatMemoryTable,
    formatMemoryMarkdown,
  ),
  'cold-start': cardKind(
    (r, _, c) => computeColdStartScorecard(r, c.grades),
    formatColdStartTable,
    formatColdStartMarkdown,
  ),
  power: cardKind(
    (r, _, c) => computePowerEfficiencyScorecard(r, c.grades),
    formatPowerTable,
    formatPowerMarkdown,
  ),
  // Scaling compares concurrencies, so it reads the --c1 files together with the others.
  scaling: cardKind(
    (r, c1, c) => computeConcurrencyScalingScorecard([...(c1 ?? []), ...r], c.grades),
    formatScalingTable,
    formatScalingMarkdown,
  ),
};

const FORMATS = ['table', 'markdown', 'json'] as const;

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw cannotRead(path, error);
  }
}

async function readResults(paths: readonly string[]): Promise<ScoredResult[]> {
  return Promise.all(
    paths.map(
      async (path): Promise<ScoredResult> => [
        parseLoadTestResult(await readText(path), path),
        path,
      ],
    ),
  );
}

interface ScoreOptions {
  c1?: string[];
  card: string;
  contract?: string;
  format: (typeof FORMATS)[number];
}

/** `xinfer score`: grades `LoadTestResult` files with the scorecards. */
export function scoreCommand(io: CliIo): Command {
  return new Command('score')
    .description('grade load-test result files (LoadTestResult JSON) with the scorecards')
    .argument('<files...>', 'result files of one concurrency')
    .option('--c1 <files...>', 'c=1 result files: the baselines of throughput_scaling')
    .addOption(
      new Option('--card <card>', 'which scorecard')
        .choices([...Object.keys(CARDS), 'all'])
        .default('main'),
    )
    .option('--contract <file>', 'scoring contract, JSON or YAML (default: the built-in one)')
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS).default('table'))
    .action(async (files: string[], options: ScoreOptions) => {
      const contract = options.contract
        ? parseScoringContract(await readText(options.contract), options.contract)
        : defaultScoringContract();
      const results = await readResults(files);
      const c1 = options.c1 ? await readResults(options.c1) : undefined;
      const names = options.card === 'all' ? Object.keys(CARDS) : [options.card];
      const cards = names.map((name) => [name, CARDS[name]!(results, c1, contract)] as const);
      if (options.format === 'json') {
        const json =
          options.card === 'all'
            ? Object.fromEntries(cards.map(([name, card]) => [name, card.json]))
            : cards[0]![1].json;
        io.out(`${JSON.stringify(json, null, 2)}\n`);
        return;
      }
      const text = cards.map(([, card]) =>
        options.format === 'markdown' ? card.markdown() : card.table(),
      );
      io.out(`${text.join('\n\n')}\n`);
    });
}
