import { createProxyHandler } from './handler';
import { proxyWiring } from './wiring';

export const handler = createProxyHandler(proxyWiring());
