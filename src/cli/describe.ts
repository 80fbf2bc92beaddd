/** npm run describe -- --model NAME --preset thesis|quick [--json] — layer summary and parameter count. */
import { initBackend } from '../backend/index';
import { DESCRIBABLE, describeModel, formatDescription } from '../models/describe';
import { PRESETS, type PresetName } from '../models/presets';
import { parseCli, runCli, UsageError } from '../util/cli';

const USAGE = `npm run describe -- --model ${DESCRIBABLE.join('|')} [--preset thesis|quick] [--json]`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    { model: { type: 'string' }, preset: { type: 'string', default: 'thesis' }, json: { type: 'boolean' } },
    USAGE,
  );
  if (!values.model || !DESCRIBABLE.includes(values.model)) throw new UsageError(`--model is one of ${DESCRIBABLE.join(', ')}\n\n${USAGE}`);
  if (!PRESETS.includes(values.preset as PresetName)) throw new UsageError(`--preset is one of ${PRESETS.join(', ')}`);
  await initBackend({ backend: 'cpu' }); // a single forward pass for the shapes; any backend gives the same
  const d = describeModel(values.model, values.preset as PresetName);
  process.stdout.write(values.json ? `${JSON.stringify(d)}\n` : `${formatDescription(d)}\n`);
}

runCli(main);
