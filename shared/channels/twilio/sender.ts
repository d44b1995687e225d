import type { ChannelSender } from '../channel';
import type { TwilioConfig } from './config';
import { basicAuth, TwilioMessagesApi } from './messages-api';
import { buttonForText, MAX_INBOUND_BYTES, partsFor, type TwilioPart } from './outbound';

const sameOrigin = (a: string, b: string): boolean => {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
};

/** Files from and replies to SMS/MMS users (actions, agent). */
export const twilioSender = {
  /**
   * MMS media are at Twilio's media URLs, behind the account's Basic credentials; those are
   * sent only to the Twilio API's own origin (and the fetcher drops them on a redirect elsewhere).
   */
  async mediaSource(target, media) {
    const credentials = sameOrigin(media.ref, target.apiUrl)
      ? { headers: { authorization: basicAuth(target.config.accountSid, await target.secret(target.config.authToken)) } }
      : {};
    return {
      url: media.ref,
      ...credentials,
      maxBytes: MAX_INBOUND_BYTES,
      ...(media.fileName && { fileName: media.fileName }),
      ...(media.contentType && { contentType: media.contentType }),
    };
  },

  render: (message, files) => partsFor(message, files),

  /** Text replies choose a button: SMS shows buttons as numbered options. */
  buttonFromText: (text, offered) => buttonForText(text, offered.map((b) => b.label)),

  async send(target, part) {
    const api = new TwilioMessagesApi(target.apiUrl, target.config.accountSid, await target.secret(target.config.authToken));
    await api.create({ to: target.user, from: target.config.phoneNumber, body: part.body, ...(part.mediaUrl && { mediaUrl: part.mediaUrl }) });
  },
} satisfies ChannelSender<TwilioConfig, TwilioPart>;
