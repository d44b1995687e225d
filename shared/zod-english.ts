import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * zod/mini (lean bundles, issue 10) loads no locale, so its issues would all read
 * "Invalid input". Every module that builds schemas imports this one, which loads the
 * English messages (only them: never the whole `locales` namespace) before anything parses.
 */
z.config(en());
