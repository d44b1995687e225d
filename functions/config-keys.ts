import { ACTIONS_CONFIG } from './actions/wiring';
import { AGENT_CONFIG } from './agent/wiring';
import { EXPIRY_CONFIG } from './expiry/wiring';
import { INTAKE_CONFIG } from './intake/wiring';
import { MAILER_CONFIG } from './mailer/wiring';
import { PROXY_CONFIG } from './proxy/wiring';
import { SCAN_VERDICT_CONFIG } from './scan-verdict/wiring';
import { SOCKET_AUTHORIZER_CONFIG } from './socket-authorizer/wiring';
import { SOCKET_CONFIG } from './socket/wiring';

/**
 * The settings each function's wiring reads, by function. The CDK stack gives a function
 * only these (and its bot files only when BOTS_DIR is among them); a CDK test checks every
 * variable a function gets is one its wiring reads.
 */
export const FUNCTION_CONFIG = {
  intake: INTAKE_CONFIG,
  actions: ACTIONS_CONFIG,
  proxy: PROXY_CONFIG,
  agent: AGENT_CONFIG,
  mailer: MAILER_CONFIG,
  expiry: EXPIRY_CONFIG,
  socket: SOCKET_CONFIG,
  'socket-authorizer': SOCKET_AUTHORIZER_CONFIG,
  'scan-verdict': SCAN_VERDICT_CONFIG,
} as const;
