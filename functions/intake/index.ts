import { createIntakeHandler } from './handler';
import { intakeWiring } from './wiring';

export const handler = createIntakeHandler(intakeWiring());
