import { createExpiryHandler } from './handler';
import { expiryWiring } from './wiring';

export const handler = createExpiryHandler(expiryWiring());
