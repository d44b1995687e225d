import type { Bot } from '../bots/schema';
import { formatBytes } from './format';
import type { WarningCode } from './transcript';

/** What the user reads when a file is refused; the code travels alongside for clients. */
export function warningText(code: WarningCode, bot: Pick<Bot, 'attachments'>, channel?: { label: string; maxBytes: number }): string {
  const a = bot.attachments;
  switch (code) {
    case 'attachment_too_large':
      // On a channel that carries less than the bot accepts, its limit is the one that counts.
      return channel && channel.maxBytes < a.sizeLimitBytes
        ? `That file is too large. Files sent on ${channel.label} can be up to ${formatBytes(channel.maxBytes)}.`
        : `That file is too large. Files can be up to ${formatBytes(a.sizeLimitBytes)}.`;
    case 'attachment_type_not_allowed':
      return `That type of file is not accepted. Accepted types: ${a.allowedTypes.join(', ')}.`;
    case 'attachment_limit_reached':
      return `You have reached the limit of ${a.limitPerConversation ?? 0} files for this conversation.`;
    case 'attachment_content_mismatch':
      return "That file's content does not match its file type, so it was not accepted.";
    case 'attachment_upload_failed':
      return 'That file could not be received. Please try again.';
    case 'attachment_infected':
      return 'That file contains malware, so it was deleted and nobody can open it.';
    case 'attachment_unscannable':
      return 'That file could not be checked for viruses (a password-protected archive, for example), so it was not accepted.';
    case 'message_not_processed':
      return 'Sorry, something went wrong on our side and your last message could not be processed. Please send it again.';
  }
}
