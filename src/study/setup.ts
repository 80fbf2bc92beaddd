/**
 * The first cell of every study notebook, as one call: start the tfjs backend (tensorflow → webgpu →
 * wasm → cpu, or SOUNDTRACK_BACKEND), inline plotly.js once (no network), print the settings.
 */
import { formatBackend, initBackend } from '../backend/index';
import { type StudyConfig, studyConfig } from './config';
import { plotlyScript } from './html';

export { closeFigures } from './html';

/** `display` is the notebook's own `tslab.display`. */
export async function startStudy(display: { html(html: string): void }): Promise<StudyConfig> {
  const cfg = studyConfig();
  const backend = await initBackend();
  display.html(await plotlyScript());
  console.log(`backend ${formatBackend(backend)}\ndata ${cfg.data} · photos ${cfg.images} · preset ${cfg.preset} · output ${cfg.out}`);
  return cfg;
}
