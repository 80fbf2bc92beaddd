/** npm run tune:sampling -- --data DIR [--model DIR] [--guidance 2,3,4] [--smooth median,none] [--layout data] [--n 32] */
import { initBackend } from '../backend/index';
import { loadGenerator, loadJudge, type GenerateSoundOptions } from '../pipeline/generators';
import { CLIP_LAYOUTS, PATCH_SMOOTHING } from '../pipeline/mel-sound';
import { formatSamplingScores, scoreSamplingOnTraining, type SamplingCandidate } from '../pipeline/tune-sampling';
import { parseCli, runCli } from '../util/cli';
import { choiceFlag, flag, numberFlag } from '../util/flags';

const USAGE = `npm run tune:sampling -- [--data embedded|DIR] [--model DIR] [--judge DIR] [--n 32] [--seed 0]
                          [--guidance G1,G2,…] [--guidance-until T1,T2,…]
                          [--late-model DIR|none] [--switch-at T1,T2,…] [--smooth median,none] [--layout data,full] [--json] [--backend NAME]
Scores every combination of the listed sampling settings of the mel-flow generator by the FAD of its clips
against the generator's own training recordings (judge embedding), with the judge's recognition beside it —
never against held-out recordings, which stay for eval:generation. Lowest FAD sum first.
--guidance-until T: guidance only for t < T of the flow (the rest plain conditional).`;

/** A comma-separated list, each item checked by `one` (undefined list → [undefined]: the default). */
function list<T>(value: string | undefined, one: (v: string) => T): (T | undefined)[] {
  return value === undefined ? [undefined] : value.split(',').map((v) => one(v.trim()));
}

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      data: { type: 'string', default: 'embedded' },
      model: { type: 'string' },
      'late-model': { type: 'string' },
      'switch-at': { type: 'string' },
      judge: { type: 'string' },
      n: { type: 'string', default: '32' },
      seed: { type: 'string', default: '0' },
      guidance: { type: 'string' },
      'guidance-until': { type: 'string' },
      smooth: { type: 'string' },
      layout: { type: 'string' },
      json: { type: 'boolean' },
      backend: { type: 'string' },
    },
    USAGE,
  );
  const n = flag('n', values.n) as number;
  const seed = flag('seed', values.seed) as number;
  const guidances = list(values.guidance, (v) => flag('guidance', v) as number);
  const switches = list(values['switch-at'], (v) => numberFlag('switch-at', v, { min: 0, max: 1 }) as number);
  const untils = list(values['guidance-until'], (v) => numberFlag('guidance-until', v, { min: 0, max: 1 }) as number);
  const smooths = list(values.smooth, (v) => choiceFlag('smooth', v, PATCH_SMOOTHING));
  const layouts = list(values.layout, (v) => choiceFlag('layout', v, CLIP_LAYOUTS));
  const candidates: SamplingCandidate[] = [];
  for (const guidance of guidances)
    for (const switchAt of switches)
      for (const until of untils)
        for (const smooth of smooths)
          for (const layout of layouts) {
            const options: GenerateSoundOptions = {
              ...(guidance !== undefined ? { guidance } : {}),
              ...(switchAt !== undefined ? { switchAt } : {}),
              ...(until !== undefined ? { guidanceInterval: [0, until] as [number, number] } : {}),
              ...(smooth !== undefined ? { smooth } : {}),
              ...(layout !== undefined ? { layout } : {}),
            };
            const name =
              Object.entries(options)
                .map(([k, v]) => `${k} ${Array.isArray(v) ? `[${v.join(', ')})` : String(v)}`)
                .join(', ') || 'defaults';
            candidates.push({ name, options });
          }
  await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const { judge } = await loadJudge(values.judge);
  const gen = await loadGenerator('mel-flow', {
    ...(values.model !== undefined ? { generator: values.model } : {}),
    ...(values['late-model'] !== undefined ? { late: values['late-model'] } : {}),
  });
  try {
    const scores = await scoreSamplingOnTraining(gen, judge, {
      data: String(values.data),
      perClass: n,
      candidates,
      seed,
      log: (l) => process.stderr.write(`${l}\n`),
    });
    const ranked = [...scores].sort((a, b) => a.fadSum - b.fadSum);
    if (values.json) for (const r of ranked) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`${formatSamplingScores(ranked)}\n(${n} clips per class; generator ${Object.values(gen.sources).join(', ')})\n`);
  } finally {
    gen.dispose();
    judge.dispose();
  }
}

runCli(main);
