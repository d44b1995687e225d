import type { ChannelSender } from '../channel';
import type { MessengerConfig } from './config';
import { sendsFor, type SendMessage } from './outbound';
import { SendApi } from './send-api';

/** Files from and replies to Messenger users (actions, agent). */
export const messengerSender = {
  // Meta's CDN URLs are signed and public: fetched as they are.
  mediaSource: async (_target, media) => ({ url: media.ref }),
  render: (message, files) => sendsFor(message, files.link),
  send: async (target, part) => {
    const token = await target.secret(target.config.pageAccessToken);
    await new SendApi(target.apiUrl).send(token, target.user, part);
  },
} satisfies ChannelSender<MessengerConfig, SendMessage>;
