/**
 * `npm start`: the whole product on this machine, with no AWS account.
 * Reads the environment (SPEC section 8), starts the emulators and the API, prints the URLs.
 */
process.env.LOG_LEVEL ??= 'WARN';
// The SDK warns that releases after January 2027 need Node 22; the README says so once.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_SERVICE_NAME ??= 'satchel-local';

const { BotFileError } = await import('../shared/bots/loader');
const { optionsFromEnv, startLocal, StartupError } = await import('./runtime');

try {
  const runtime = await startLocal(optionsFromEnv());
  // Handlers first: a Ctrl-C the moment the banner appears must still shut down cleanly.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping...`);
    runtime.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('Shutdown failed:', err);
        process.exit(1);
      },
    );
  };
  // Last resort only: every background loop catches, logs and backs off on its own (issue 12).
  // Should a rejection still escape one, say so loudly and keep serving rather than exit.
  process.on('unhandledRejection', (reason) => {
    console.error('Satchel: an error escaped its handler (please report this bug); the runtime keeps going:', reason);
  });
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  const { urls } = runtime;
  const note = (name: 'dynamodb' | 's3' | 'ses') => (runtime.external.includes(name) ? ' (existing server)' : '');
  console.log(`
Satchel is running locally.

  Web chat        ${urls.chat}
  Agent console   ${urls.agent}${runtime.cognito ? `\n                  sign in as ${runtime.cognito.demoAgent.email}, password ${runtime.cognito.demoAgent.password}  (AGENT_SIGN_IN=local: just a name)` : ''}
  Mailbox (SES)   ${urls.mailbox}${runtime.external.includes('ses') ? '  (existing server)' : `  (sent mail as JSON: ${urls.ses}/store)`}${urls.demoDocs ? `\n  Demo documents  ${urls.demoDocs}  (token-protected; the demo bot's Send Attachment source)` : ''}${
    urls.demoSite && runtime.demoSite
      ? `\n  Widget demo     ${urls.demoSite}  (another site embedding the "${runtime.demoSite.botId}" bot's chat)${
          runtime.demoSite.allowed ? '' : `\n                  (add "${runtime.demoSite.origin}" to that bot's channels.web.allowedOrigins to let it)`
        }`
      : ''
  }

  DynamoDB ${urls.dynamodb}${note('dynamodb')}   S3 ${urls.s3}${note('s3')}   data in ${process.env.DATA_DIR ?? '.satchel'}/
Press Ctrl-C to stop.
`);
} catch (err) {
  if (err instanceof BotFileError || err instanceof StartupError) {
    console.error(`Satchel could not start.\n${err.message}`);
  } else {
    console.error('Satchel could not start:', err);
  }
  process.exit(1);
}
export {};
