import * as z from 'zod/mini';
import '../zod-english';
import { originProblem } from './origins';
import { channelConfigSchemas } from '../channels/definitions';
import { SecretRef } from './secret-ref';

export type { SecretRef } from './secret-ref';

/** Default attachment rules (SPEC section 3). */
export const DEFAULT_ALLOWED_TYPES = [
  'bmp', 'gif', 'jpg', 'jpeg', 'png', 'pdf', 'doc', 'docx', 'xlsx', 'xls', 'csv', 'txt', 'zip',
] as const;
export const DEFAULT_SIZE_LIMIT_BYTES = 8 * 1024 * 1024;


const InteractionId = z.string().check(z.minLength(1), z.maxLength(100));

const Button = z.union([
  z.strictObject({ label: z.string().check(z.minLength(1), z.maxLength(100)), next: InteractionId }),
  z.strictObject({ label: z.string().check(z.minLength(1), z.maxLength(100)), liveAgent: z.literal(true) }),
]);

const MessageInteraction = z.strictObject({
  type: z.literal('message'),
  text: z.string().check(z.minLength(1)),
  buttons: z.optional(z.array(Button).check(z.maxLength(13))),
  next: z.optional(InteractionId),
});

const QuestionInteraction = z.strictObject({
  type: z.literal('question'),
  text: z.string().check(z.minLength(1)),
  answerFormat: z._default(z.enum(['any', 'text', 'attachment']), 'any'),
  variable: z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names are letters, digits and _')),
  next: z.optional(InteractionId),
});

const SendAttachmentAction = z.strictObject({
  type: z.literal('sendAttachment'),
  fileName: z._default(z.string(), ''),
  endpoint: z.string().check(z.regex(/^https?:\/\//i, 'endpoint must be an http or https URL')),
  authorization: z.optional(SecretRef),
  contentType: z._default(z.string(), ''),
  headers: z._default(z.record(z.string(), z.string()), {}),
});

const ActionInteraction = z.strictObject({
  type: z.literal('action'),
  action: z.discriminatedUnion('type', [SendAttachmentAction]),
  next: z.optional(InteractionId),
  onError: z.optional(InteractionId),
});

const Interaction = z.discriminatedUnion('type', [MessageInteraction, QuestionInteraction, ActionInteraction]);

const Attachments = z.strictObject({
  recipientEmail: z.optional(z.email()),
  allowedTypes: z.pipe(
    z.optional(z.array(z.string().check(z.regex(/^[a-z0-9]{1,10}$/, 'types are lower-case extensions without a dot')))),
    z.transform((t: string[] | undefined): string[] => (t && t.length > 0 ? t : [...DEFAULT_ALLOWED_TYPES])),
  ),
  // 5 GiB: the most one S3 POST upload (and one CopyObject) can carry.
  sizeLimitBytes: z._default(
    z.int().check(z.positive(), z.maximum(5 * 1024 * 1024 * 1024, 'at most 5 GiB (5368709120), the S3 single-upload limit')),
    DEFAULT_SIZE_LIMIT_BYTES,
  ),
  limitPerConversation: z._default(z.nullable(z.int().check(z.positive())), null),
  // What happens to a file the malware scan cannot judge (SPEC 13): refused like an infected one, or allowed.
  unscannable: z._default(z.enum(['refuse', 'allow']), 'refuse'),
});

const LiveTakeover = z.strictObject({
  startMessage: z._default(z.string(), 'You are now chatting with {agent.name}.'),
  confirmationMessage: z._default(z.string(), 'Finding someone for you...'),
  noAgentsInteraction: z.optional(InteractionId),
  waitForAgentSeconds: z._default(z.int().check(z.minimum(0), z.maximum(900)), 0),
});

/** Which sites may embed the chat (SPEC 11); checked strictly, as each becomes a CSP source. */
const AllowedOrigin = z.string().check(
  z.superRefine((value, ctx) => {
    const problem = originProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', input: value, message: problem });
  }),
);

/** The chat's look per bot (SPEC 11): launcher and page title, accent colour, start-card greeting. */
const Theme = z.strictObject({
  title: z.optional(z.string().check(z.minLength(1), z.maxLength(60))),
  color: z.optional(z.string().check(z.regex(/^#[0-9a-fA-F]{6}$/, 'color is a hex colour written #rrggbb'))),
  greeting: z.optional(z.string().check(z.minLength(1), z.maxLength(500))),
});

const WebChannel = z.strictObject({
  allowedOrigins: z.optional(z.array(AllowedOrigin).check(z.maxLength(50))),
  theme: z.optional(Theme),
});

export const BotSchema = z
  .strictObject({
    id: z.string().check(z.regex(/^[a-z0-9-]{1,40}$/, 'id is 1-40 characters of a-z, 0-9 and -')),
    name: z.string().check(z.minLength(1), z.maxLength(200)),
    sessionTimeoutSeconds: z._default(z.int().check(z.minimum(60), z.maximum(30 * 86400)), 86400),
    defaultAnswer: z._default(z.string().check(z.minLength(1)), "Sorry, I didn't catch that."),
    // Said when the user sends a file the current interaction cannot use (issue 14); {file.name} names it.
    fileReceivedAnswer: z._default(z.string().check(z.minLength(1)), 'Thanks, we have received {file.name}.'),
    agentThreshold: z._default(z.int().check(z.minimum(0)), 3),
    attachments: z._default(Attachments, () => Attachments.parse({})),
    liveTakeover: z._default(LiveTakeover, () => LiveTakeover.parse({})),
    // web plus one entry per registered channel (shared/channels/definitions.ts)
    channels: z._default(z.strictObject({ web: z.optional(WebChannel), ...channelConfigSchemas }), { web: {} }),
    start: InteractionId,
    interactions: z.record(InteractionId, Interaction),
  })
  .check(z.superRefine((bot, ctx) => {
    // Every reference must name an interaction that exists, so a typo fails at start-up
    // instead of stranding a user mid-conversation.
    const ids = new Set(Object.keys(bot.interactions));
    const check = (target: string | undefined, path: (string | number)[]) => {
      if (target !== undefined && !ids.has(target)) {
        ctx.addIssue({ code: 'custom', path, message: `no interaction named "${target}"` });
      }
    };
    check(bot.start, ['start']);
    check(bot.liveTakeover.noAgentsInteraction, ['liveTakeover', 'noAgentsInteraction']);
    for (const [id, it] of Object.entries(bot.interactions)) {
      check(it.next, ['interactions', id, 'next']);
      if (it.type === 'action') check(it.onError, ['interactions', id, 'onError']);
      if (it.type === 'message') it.buttons?.forEach((b, i) => 'next' in b && check(b.next, ['interactions', id, 'buttons', i, 'next']));
    }
  }));

export type Bot = z.output<typeof BotSchema>;
export type BotInput = z.input<typeof BotSchema>;
export type Interaction = Bot['interactions'][string];
export type MessageInteraction = z.output<typeof MessageInteraction>;
export type QuestionInteraction = z.output<typeof QuestionInteraction>;
export type ActionInteraction = z.output<typeof ActionInteraction>;
export type SendAttachmentSettings = z.output<typeof SendAttachmentAction>;
export type Button = z.output<typeof Button>;
export type WebTheme = z.output<typeof Theme>;
