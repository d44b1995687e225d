import { createMailerHandler } from './handler';
import { mailerWiring } from './wiring';

export const handler = createMailerHandler(mailerWiring());
