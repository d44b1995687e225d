import { createActionsHandler, EVENTS_MAX_RECEIVE_COUNT } from './handler';
import { actionsWiring } from './wiring';

// The events queue dead-letters after this many receives (cdk/constructs/queues.ts): the last one tells the user.
export const handler = createActionsHandler(actionsWiring(), { maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT });
