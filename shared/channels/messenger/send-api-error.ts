/** A failed Send API call: the channel-wide send error (messages never hold the URL or Graph's free text). */
export { ChannelSendError as SendApiError } from '../channel';
