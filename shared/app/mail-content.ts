import type { Bot } from '../bots/schema';
import type { Session } from '../domain/session';
import { formatBytes } from '../domain/format';
import { plainText, type AttachmentMeta, type TranscriptMessage } from '../domain/transcript';

/**
 * The words of an attachment email: subject, and text and HTML bodies that show the file
 * and the conversation that preceded it (who said what, when). Pure; no I/O.
 */
export interface AttachmentEmailInput {
  bot: Pick<Bot, 'name'>;
  session: Pick<Session, 'id' | 'channel' | 'userId' | 'userName'>;
  file: AttachmentMeta;
  /** Oldest first, ending with the message that carried the file. */
  transcript: TranscriptMessage[];
  /** Earlier messages left out of `transcript`. */
  omitted: number;
  /** The file is attached, or too large for an email and reachable by link. */
  delivery: { kind: 'attached' } | { kind: 'link'; url: string };
}

export interface AttachmentEmailContent {
  subject: string;
  text: string;
  html: string;
}

const CONTROL = /[\u0000-\u001f\u007f]+/g;
const oneLine = (s: string) => s.replace(CONTROL, ' ').trim();

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);


const when = (at: number) => `${new Date(at).toISOString().slice(0, 19).replace('T', ' ')} UTC`;

const userLabel = (session: AttachmentEmailInput['session']) => session.userName?.trim() || 'User';

function speaker(m: TranscriptMessage, input: AttachmentEmailInput): string {
  switch (m.from) {
    case 'user':
      return userLabel(input.session);
    case 'bot':
      return input.bot.name;
    case 'agent':
      return `${m.agent?.name ?? 'Agent'} (agent)`;
  }
}

const describeFile = (f: AttachmentMeta) => `${f.fileName} (${f.contentType}, ${formatBytes(f.size)})`;

/** The lines one message contributes: its text, its buttons, its files. */
function messageLines(m: TranscriptMessage): string[] {
  const lines: string[] = [];
  const text = plainText(m);
  if (text !== undefined && text !== '') lines.push(...text.split(/\r?\n/));
  if (m.buttons?.length) lines.push(m.buttons.map((b) => `[${b.label}]`).join(' '));
  for (const f of m.attachments ?? []) lines.push(`[file] ${describeFile(f)}`);
  return lines.length ? lines : [''];
}

export function attachmentEmail(input: AttachmentEmailInput): AttachmentEmailContent {
  const { bot, session, file, transcript, omitted, delivery } = input;
  const user = userLabel(session);
  const subject = oneLine(`${bot.name}: ${file.fileName} from ${user}`);
  const deliveryText =
    delivery.kind === 'attached'
      ? 'The file is attached to this email.'
      : 'The file is too large to attach. Download it here while the conversation lasts:';

  const text = [
    `${user} sent a file to ${bot.name}.`,
    '',
    `File: ${describeFile(file)}`,
    deliveryText,
    ...(delivery.kind === 'link' ? [delivery.url] : []),
    '',
    `Conversation ${session.id} (channel ${session.channel}, user ${session.userId})`,
    '',
    'Conversation before the file:',
    ...(omitted ? [`(${omitted} earlier messages not shown)`] : []),
    ...transcript.flatMap((m) => {
      const [first, ...rest] = messageLines(m);
      const head = `${when(m.at)}  ${speaker(m, input)}: `;
      return [head + first, ...rest.map((l) => ' '.repeat(head.length) + l)];
    }),
    '',
  ].join('\n');

  const e = escapeHtml;
  const rows = transcript
    .map(
      (m) =>
        `<tr><td style="white-space:nowrap;color:#666;vertical-align:top;padding:2px 8px 2px 0">${e(when(m.at))}</td>` +
        `<td style="vertical-align:top;padding:2px 8px 2px 0"><strong>${e(speaker(m, input))}</strong></td>` +
        `<td style="vertical-align:top;padding:2px 0">${messageLines(m).map(e).join('<br>')}</td></tr>`,
    )
    .join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<p>${e(user)} sent a file to ${e(bot.name)}.</p>`,
    `<p><strong>File:</strong> ${e(describeFile(file))}<br>${e(deliveryText)}`,
    delivery.kind === 'link' ? `<br><a href="${e(delivery.url)}">${e(delivery.url)}</a>` : '',
    '</p>',
    `<p style="color:#666">Conversation ${e(session.id)} (channel ${e(session.channel)}, user ${e(session.userId)})</p>`,
    '<h3>Conversation before the file</h3>',
    omitted ? `<p style="color:#666">(${omitted} earlier messages not shown)</p>` : '',
    `<table style="border-collapse:collapse">\n${rows}\n</table>`,
    '</body></html>',
  ].join('\n');

  return { subject, text, html };
}
