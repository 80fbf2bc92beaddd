/** Commands that model cat against dog (codes for the priors) need recordings of both. */
import { DatasetError } from '../util/errors';
import type { AudioDataset } from './dataset';

export function requireClasses(ds: AudioDataset, names: readonly string[]): void {
  const missing = names.filter((n) => {
    const label = ds.classes.indexOf(n);
    return label < 0 || !ds.items.some((i) => i.label === label);
  });
  if (missing.length > 0) {
    throw new DatasetError(
      ds.root,
      'bad-dataset',
      `has no ${missing.join(' or ')} recordings; this needs both ${names.join(' and ')} (found: ${ds.classes.map((c, l) => `${c} ${ds.items.filter((i) => i.label === l).length}`).join(', ') || 'none'})`,
    );
  }
}
