import { loadConfig } from '../../shared/config';
import { createScanVerdictHandler } from './handler';
import { scanVerdictWiring } from './wiring';

export const handler = createScanVerdictHandler(scanVerdictWiring(), loadConfig(['BUCKET_NAME']).BUCKET_NAME);
