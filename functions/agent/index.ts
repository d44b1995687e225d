import { createAgentHandler } from './handler';
import { agentWiring } from './wiring';

export const handler = createAgentHandler(agentWiring());
