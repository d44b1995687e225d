import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * zod/mini (lean bundles, issue 10) loads no locale, so its issues would all read
 * "Invalid input". Every module that builds schemas imports this one, which loads the
 * English messages (only them: never the whole `locales` namespace) before anything parses.
 */
// jitless: zod would otherwise compile a parser per object schema on its first parse (with
// `new Function`), which costs a cold start about 100 ms for the bot files alone; every schema
// here parses a handful of small objects per container, where the interpreter is as fast.
z.config({ ...en(), jitless: true });
