import { createSocketHandler } from './handler';
import { socketWiring } from './wiring';

export const handler = createSocketHandler(socketWiring());
