/** npm run codes -- --codec CHECKPOINT --data embedded|DIR --out DIR — top and bottom codes of every clip, for the priors. */
import { initBackend } from '../backend/index';
import { extractCodes } from '../codes/extract';
import { parseCli, runCli, UsageError } from '../util/cli';
import { checkOutput } from '../util/output';

const USAGE = `npm run codes -- --codec CHECKPOINT --data embedded|DIR --out DIR [--mode segments|center] [--backend NAME]`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      codec: { type: 'string' },
      data: { type: 'string', default: 'embedded' },
      out: { type: 'string' },
      mode: { type: 'string' },
      backend: { type: 'string' },
    },
    USAGE,
  );
  if (!values.codec || !values.out) throw new UsageError(`--codec and --out are required\n\n${USAGE}`);
  if (values.mode && values.mode !== 'segments' && values.mode !== 'center') throw new UsageError(`--mode is segments or center`);
  await checkOutput(values.out, { kind: 'dir' }); // before any computation
  await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const r = await extractCodes({
    codec: values.codec,
    data: values.data as string,
    out: values.out,
    mode: (values.mode as 'segments' | 'center' | undefined) ?? 'segments',
    onProgress: (d, t) => {
      if (d === t || d % 20 === 0) process.stderr.write(`encoded ${d}/${t} recordings\n`);
    },
  });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

runCli(main);
