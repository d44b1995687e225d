import { createSocketAuthorizerHandler } from './handler';
import { socketAuthorizerWiring } from './wiring';

export const handler = createSocketAuthorizerHandler(socketAuthorizerWiring());
