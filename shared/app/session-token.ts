/**
 * The purpose tag of a web session token (`tokens.sign(SESSION_TOKEN, …)`). Its own module so
 * the socket functions, which only check tokens, do not bundle the web channel's use cases
 * (and through them the channel registry).
 */
export const SESSION_TOKEN = 'st';
