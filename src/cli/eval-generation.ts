/** npm run eval:generation -- [--data DIR] [--n 32] [--generator mel-flow|thesis] [--judge DIR] [--json] */
import { initBackend } from '../backend/index';
import { formatGenerationEvaluation, evaluateGeneration } from '../pipeline/evaluate-generation';
import { GENERATOR_KINDS, loadGenerator, loadJudge, type GeneratorKind } from '../pipeline/generators';
import { parseCli, runCli, UsageError } from '../util/cli';
import { flag } from '../util/flags';
import { MEL_FLOW_FLAGS, MEL_FLOW_USAGE, melFlowFromFlags } from './sampling-options';

const USAGE = `npm run eval:generation -- [--data embedded|DIR] [--n 32] [--generator mel-flow|thesis]
                            [--codec DIR --top DIR --bottom DIR] [--judge DIR] [--guidance G]
                            ${MEL_FLOW_USAGE}
                            [--seed 0] [--skip-memorisation] [--json] [--backend NAME]
Generates N clips per class and judges them with the project's 3-way sound classifier (cat / dog / neither,
trained on the training split only): share recognised as the asked class, share called "neither", FAD against
the held-out recordings of --data in the classifier's embedding, and a memorisation check (best log-mel
cross-correlation with any training recording) — each beside the same numbers for real held-out clips,
their Griffin–Lim resynthesis, and noise. Recordings either model trained on are never used as held-out.`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      data: { type: 'string', default: 'embedded' },
      n: { type: 'string', default: '32' },
      generator: { type: 'string', default: 'mel-flow' },
      ...MEL_FLOW_FLAGS,
      codec: { type: 'string' },
      top: { type: 'string' },
      bottom: { type: 'string' },
      judge: { type: 'string' },
      guidance: { type: 'string' },
      seed: { type: 'string', default: '0' },
      'skip-memorisation': { type: 'boolean' },
      json: { type: 'boolean' },
      backend: { type: 'string' },
    },
    USAGE,
  );
  const n = flag('n', values.n) as number; // ≥ 2: FAD needs at least two clips
  const kind = String(values.generator) as GeneratorKind;
  if (!GENERATOR_KINDS.includes(kind)) throw new UsageError(`unknown --generator '${values.generator}' (choose ${GENERATOR_KINDS.join(' or ')})`);
  const seed = flag('seed', values.seed) as number;
  const guidance = flag('guidance', values.guidance);
  const flow = melFlowFromFlags(values);
  await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const { judge, dir: judgeDir, trainIds } = await loadJudge(values.judge);
  const gen = await loadGenerator(kind, { ...flow.paths, codec: values.codec, top: values.top, bottom: values.bottom });
  try {
    const r = await evaluateGeneration(gen, judge, {
      data: String(values.data),
      perClass: n,
      seed,
      judgeTrainIds: trainIds,
      skipMemorisation: values['skip-memorisation'] ?? false,
      sampling: {
        ...(guidance !== undefined ? { guidance } : {}),
        ...flow.sampling,
      },
      log: (l) => process.stderr.write(`${l}\n`),
    });
    if (values.json) process.stdout.write(`${JSON.stringify({ ...r, judgeCheckpoint: judgeDir })}\n`);
    else process.stdout.write(`${formatGenerationEvaluation(r)}\njudge: ${judgeDir}\n`);
  } finally {
    gen.dispose();
    judge.dispose();
  }
}

runCli(main);
