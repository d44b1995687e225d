import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The demo document server of `npm start`: a stand-in for a team's document API, so the
 * demo bot's Send Attachment action has something real to fetch. It listens on loopback
 * only and serves one generated PDF to requests carrying the demo token as Authorization.
 *
 *   GET /documents/sample.pdf?ref=<text>   200 application/pdf (the ref is printed in it)
 *   anything else                          404; a wrong or missing token gets 401
 */

export const DEMO_DOCS_SECRET = 'demo-docs-token';
export const DEMO_DOCS_DEFAULT_PORT = 4570;

export interface DemoDocs {
  url: string;
  port: number;
  /** `127.0.0.1:<port>`, for FETCH_ALLOW_HOSTS. */
  hostPort: string;
  close(): Promise<void>;
}

export async function startDemoDocs(port: number, token: string): Promise<DemoDocs> {
  const expected = Buffer.from(token);
  const authorized = (header: string | undefined) => {
    const got = Buffer.from(header ?? '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  };
  const server = http.createServer((req, res) => {
    let url: URL | undefined;
    try {
      url = new URL(`http://demo-docs${req.url ?? '/'}`);
    } catch {
      url = undefined;
    }
    if (!url) {
      // A request target that is not a path: a thrown error here would end the process.
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad request.\n');
    } else if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (!authorized(req.headers.authorization)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' }).end('A valid token is required.\n');
    } else if (url.pathname === '/documents/sample.pdf') {
      const pdf = samplePdf(url.searchParams.get('ref') ?? '');
      res.writeHead(200, {
        'content-type': 'application/pdf',
        'content-length': pdf.length,
        'content-disposition': `attachment; filename="satchel-sample.pdf"`,
        'cache-control': 'no-store',
      });
      res.end(pdf);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('No such document.\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    hostPort: `127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** PDF string literals escape these; anything outside printable ASCII is dropped. */
const pdfText = (s: string) =>
  s
    .replace(/[^\x20-\x7e]/g, '')
    .replace(/[\\()]/g, (c) => `\\${c}`)
    .slice(0, 80);

/** A one-page PDF 1.4 with a correct cross-reference table, built by hand (no dependency). */
export function samplePdf(ref: string): Buffer {
  const lines = [
    'Satchel sample document',
    'Fetched with a bearer token by the Send Attachment action,',
    'streamed into S3 and linked through /files.',
    ref ? `Reference: ${ref}` : '',
  ].filter(Boolean);
  const content = [
    'BT /F1 18 Tf 72 740 Td',
    `(${pdfText(lines[0]!)}) Tj`,
    '/F1 11 Tf',
    ...lines.slice(1).map((l) => `0 -22 Td (${pdfText(l)}) Tj`),
    'ET',
  ].join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
  ];
  let body = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((obj, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${obj}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) body += `${String(o).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}
