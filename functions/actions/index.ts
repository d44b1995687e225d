import { createActionsHandler } from './handler';
import { actionsWiring } from './wiring';

export const handler = createActionsHandler(actionsWiring());
