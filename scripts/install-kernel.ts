/**
 * Write a project-local Jupyter kernelspec for tslab (run by `npm install` / `npm ci`): no global
 * state. Start Jupyter with JUPYTER_PATH=$PWD/.jupyter and pick "TypeScript (soundtrack-lab)"; the
 * kernel runs in the project root, so notebooks import ./src/... .
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

async function main(): Promise<void> {
  const root = process.cwd();
  const dir = path.join(root, '.jupyter', 'kernels', 'tslab');
  await fsp.mkdir(dir, { recursive: true });
  const tslab = path.join(root, 'node_modules', 'tslab', 'bin', 'tslab');
  const spec = {
    argv: ['sh', '-c', `cd "$1" && exec node "$2" kernel --config-path "$0"`, '{connection_file}', root, tslab],
    display_name: 'TypeScript (soundtrack-lab)',
    language: 'typescript',
  };
  await fsp.writeFile(path.join(dir, 'kernel.json'), `${JSON.stringify(spec, null, 1)}\n`);
  process.stdout.write(`tslab kernelspec written to ${path.relative(root, dir)}/kernel.json (use JUPYTER_PATH=${path.join(root, '.jupyter')})\n`);
}

main().catch((e: unknown) => {
  // never fail an install over this
  process.stderr.write(`could not write the tslab kernelspec: ${(e as Error).message}\n`);
});
