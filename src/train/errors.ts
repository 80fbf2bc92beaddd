export { DatasetError } from '../util/errors';
import { InputError } from '../util/errors';

/** A request that cannot be carried out as given (e.g. an output folder that already holds a run). */
export class RunFolderError extends InputError {
  constructor(file: string, detail: string) {
    super(file, 'bad-argument', detail);
    this.name = 'RunFolderError';
  }
}
