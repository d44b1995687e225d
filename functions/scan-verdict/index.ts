import { createScanVerdictHandler } from './handler';
import { scanVerdictWiring } from './wiring';

export const handler = createScanVerdictHandler(scanVerdictWiring());
