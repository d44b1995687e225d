import type { MessageView } from '../../shared/app/conversation';
import type { UploadTicket } from '../../shared/app/uploads';
import { eventually } from './runtime';

/**
 * A web chat user driving the real HTTP API of a running local runtime, the way the chat
 * page does: create a session, ask for upload slots, POST files straight to S3, send them.
 */
export class WebUser {
  private constructor(
    readonly baseUrl: string,
    readonly sessionId: string,
    readonly token: string,
  ) {}

  static async start(baseUrl: string, botId: string, userName = 'Test user'): Promise<WebUser> {
    const res = await fetch(`${baseUrl}/web/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ botId, userName }),
    });
    if (res.status !== 201) throw new Error(`session not created: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { sessionId: string; token: string };
    return new WebUser(baseUrl, body.sessionId, body.token);
  }

  private headers() {
    return { 'content-type': 'application/json', authorization: `Bearer ${this.token}` };
  }

  /** `POST /web/sessions/{id}/uploads`, returning the raw response. */
  requestUpload(file: { fileName: string; size: number; contentType: string }): Promise<Response> {
    return fetch(`${this.baseUrl}/web/sessions/${this.sessionId}/uploads`, { method: 'POST', headers: this.headers(), body: JSON.stringify(file) });
  }

  async ticket(file: { fileName: string; size: number; contentType: string }): Promise<UploadTicket> {
    const res = await this.requestUpload(file);
    if (res.status !== 201) throw new Error(`upload slot refused: ${res.status} ${await res.text()}`);
    return (await res.json()) as UploadTicket;
  }

  /** Requests a slot for `body` (declaring its real size unless told otherwise) and uploads it. */
  async upload(file: { fileName: string; contentType: string; body: Buffer; declaredSize?: number }): Promise<UploadTicket> {
    const ticket = await this.ticket({ fileName: file.fileName, size: file.declaredSize ?? file.body.length, contentType: file.contentType });
    await postToS3(ticket, file.body, file.fileName);
    return ticket;
  }

  async send(message: { text?: string; buttonIndex?: number; uploadIds?: string[] }): Promise<Response> {
    const res = await fetch(`${this.baseUrl}/web/sessions/${this.sessionId}/messages`, { method: 'POST', headers: this.headers(), body: JSON.stringify(message) });
    if (res.status !== 202) throw new Error(`message refused: ${res.status} ${await res.text()}`);
    return res;
  }

  async messages(): Promise<MessageView[]> {
    const res = await fetch(`${this.baseUrl}/web/sessions/${this.sessionId}/messages`, { headers: this.headers() });
    if (res.status !== 200) throw new Error(`messages: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { messages: MessageView[] }).messages;
  }

  /** Waits until the transcript satisfies `check`. */
  waitFor(check: (messages: MessageView[]) => boolean, what: string): Promise<MessageView[]> {
    return eventually(async () => {
      const messages = await this.messages();
      return check(messages) ? messages : undefined;
    }, 15_000, what);
  }
}

/** The browser's multipart POST of a presigned upload form: every field, then the file last. */
export async function postToS3(ticket: Pick<UploadTicket, 'url' | 'fields'>, body: Buffer, fileName: string, origin?: string): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries(ticket.fields)) form.append(k, v);
  form.append('file', new Blob([body]), fileName);
  const res = await fetch(ticket.url, { method: 'POST', body: form, ...(origin && { headers: { origin } }) });
  if (res.status >= 300) throw new Error(`S3 POST failed: ${res.status} ${await res.text()}`);
  return res;
}
