import * as z from 'zod/mini';
import { CONVERSATION_STATUSES, LIST_LIMIT } from './agent-conversations';
import '../zod-english';

/**
 * The agent list's query parameters (agent function), apart from agent-conversations.ts so the
 * functions that only push conversation views (intake, actions, scan-verdict) do not build
 * this schema at cold start (issue 10). What it parses is listConversations' input.
 */

/** A query parameter given empty counts as absent (zod/mini has no `preprocess`: it is this pipe). */
const emptyAsUndefined = <T extends z.ZodMiniType>(schema: T) => z.pipe(z.transform((v: unknown) => (v === '' ? undefined : v)), schema);

export const ListConversationsQuery = z.lazy(() =>
  z.object({
    status: emptyAsUndefined(z.optional(z.enum(CONVERSATION_STATUSES))),
    q: emptyAsUndefined(z.optional(z.string().check(z.trim(), z.maxLength(200)))),
    botId: emptyAsUndefined(z.optional(z.string().check(z.maxLength(40)))),
    /** The `next` of the previous page. */
    cursor: emptyAsUndefined(z.optional(z.string().check(z.maxLength(2000)))),
    limit: emptyAsUndefined(z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(LIST_LIMIT)))),
  }),
);
