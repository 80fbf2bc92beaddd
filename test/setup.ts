import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// Tests never write to the user's audio cache.
process.env.SOUNDTRACK_CACHE_DIR = mkdtempSync(path.join(os.tmpdir(), 'soundtrack-test-cache-'));
