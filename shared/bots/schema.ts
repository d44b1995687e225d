import { z } from 'zod';

/** Default attachment rules (SPEC section 3). */
export const DEFAULT_ALLOWED_TYPES = [
  'bmp', 'gif', 'jpg', 'jpeg', 'png', 'pdf', 'doc', 'docx', 'xlsx', 'xls', 'csv', 'txt', 'zip',
] as const;
export const DEFAULT_SIZE_LIMIT_BYTES = 8 * 1024 * 1024;

const SecretRef = z.strictObject({ secret: z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,256}$/, 'secret names use letters, digits and /_+=.@-') });
export type SecretRef = z.infer<typeof SecretRef>;

const InteractionId = z.string().min(1).max(100);

const Button = z.union([
  z.strictObject({ label: z.string().min(1).max(100), next: InteractionId }),
  z.strictObject({ label: z.string().min(1).max(100), liveAgent: z.literal(true) }),
]);

const MessageInteraction = z.strictObject({
  type: z.literal('message'),
  text: z.string().min(1),
  buttons: z.array(Button).max(13).optional(),
  next: InteractionId.optional(),
});

const QuestionInteraction = z.strictObject({
  type: z.literal('question'),
  text: z.string().min(1),
  answerFormat: z.enum(['any', 'text', 'attachment']).default('any'),
  variable: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names are letters, digits and _'),
  next: InteractionId.optional(),
});

const SendAttachmentAction = z.strictObject({
  type: z.literal('sendAttachment'),
  fileName: z.string().default(''),
  endpoint: z.string().regex(/^https?:\/\//i, 'endpoint must be an http or https URL'),
  authorization: SecretRef.optional(),
  contentType: z.string().default(''),
  headers: z.record(z.string(), z.string()).default({}),
});

const ActionInteraction = z.strictObject({
  type: z.literal('action'),
  action: z.discriminatedUnion('type', [SendAttachmentAction]),
  next: InteractionId.optional(),
  onError: InteractionId.optional(),
});

const Interaction = z.discriminatedUnion('type', [MessageInteraction, QuestionInteraction, ActionInteraction]);

const Attachments = z.strictObject({
  recipientEmail: z.email().optional(),
  allowedTypes: z
    .array(z.string().regex(/^[a-z0-9]{1,10}$/, 'types are lower-case extensions without a dot'))
    .optional()
    .transform((t) => (t && t.length > 0 ? t : [...DEFAULT_ALLOWED_TYPES])),
  // 5 GiB: the most one S3 POST upload (and one CopyObject) can carry.
  sizeLimitBytes: z.number().int().positive().max(5 * 1024 * 1024 * 1024, 'at most 5 GiB (5368709120), the S3 single-upload limit').default(DEFAULT_SIZE_LIMIT_BYTES),
  limitPerConversation: z.number().int().positive().nullable().default(null),
});

const LiveTakeover = z.strictObject({
  startMessage: z.string().default('You are now chatting with {agent.name}.'),
  confirmationMessage: z.string().default('Finding someone for you...'),
  noAgentsInteraction: InteractionId.optional(),
  waitForAgentSeconds: z.number().int().min(0).max(900).default(0),
});

const Messenger = z.strictObject({
  pageId: z.string().regex(/^[0-9]+$/, 'pageId is the numeric Facebook page id'),
  appSecret: SecretRef,
  verifyToken: SecretRef,
  pageAccessToken: SecretRef,
});

export const BotSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9-]{1,40}$/, 'id is 1-40 characters of a-z, 0-9 and -'),
    name: z.string().min(1).max(200),
    sessionTimeoutSeconds: z.number().int().min(60).max(30 * 86400).default(86400),
    defaultAnswer: z.string().min(1).default("Sorry, I didn't catch that."),
    agentThreshold: z.number().int().min(0).default(3),
    attachments: Attachments.default(() => Attachments.parse({})),
    liveTakeover: LiveTakeover.default(() => LiveTakeover.parse({})),
    channels: z
      .strictObject({ web: z.strictObject({}).optional(), messenger: Messenger.optional() })
      .default({ web: {} }),
    start: InteractionId,
    interactions: z.record(InteractionId, Interaction),
  })
  .superRefine((bot, ctx) => {
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
  });

export type Bot = z.output<typeof BotSchema>;
export type BotInput = z.input<typeof BotSchema>;
export type Interaction = Bot['interactions'][string];
export type MessageInteraction = z.output<typeof MessageInteraction>;
export type QuestionInteraction = z.output<typeof QuestionInteraction>;
export type ActionInteraction = z.output<typeof ActionInteraction>;
export type SendAttachmentSettings = z.output<typeof SendAttachmentAction>;
export type Button = z.output<typeof Button>;
