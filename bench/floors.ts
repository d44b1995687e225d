/**
 * The "floor" of each function: the smallest module that does what the function's wiring
 * must do at cold start anyway — import the AWS SDK clients (and helpers) the function
 * calls and construct each client once at module scope, as a real handler does — and
 * nothing else. It is built with the functions' own esbuild options (cdk/bundling.ts), so
 * a function's bundle size and load time over its floor's is the cost of Satchel's own code
 * and of any dependency beyond the SDK. Target (issue 10): at most 1.3x on both.
 *
 * | function | SDK clients and helpers                                                                        |
 * |----------|------------------------------------------------------------------------------------------------|
 * | intake   | DynamoDB + lib-dynamodb, S3 + s3-presigned-post, SQS, Secrets Manager, API Gateway Management  |
 * | actions  | DynamoDB + lib-dynamodb, S3 + lib-storage, SQS, Secrets Manager, API Gateway Management         |
 * | proxy    | DynamoDB + lib-dynamodb, S3 + s3-request-presigner, Secrets Manager                            |
 * | agent    | DynamoDB + lib-dynamodb, S3 + s3-presigned-post, SQS, Secrets Manager, API Gateway Management  |
 * | mailer   | DynamoDB + lib-dynamodb, S3, SES v2, Secrets Manager, nodemailer's MIME composer               |
 * | expiry   | DynamoDB + lib-dynamodb, S3                                                                    |
 * | socket   | DynamoDB + lib-dynamodb                                                                        |
 * | socket-authorizer | Secrets Manager                                                                       |
 * | scan-verdict | DynamoDB + lib-dynamodb, S3, SQS, Secrets Manager, API Gateway Management                   |
 */

/** One import of a floor and the module-scope value that keeps it (and its cost) in the bundle. */
interface Piece {
  readonly imports: string;
  readonly value: string;
}

const PIECES = {
  dynamodb: {
    imports:
      "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
    value: 'DynamoDBDocumentClient.from(new DynamoDBClient({}))',
  },
  s3: { imports: "import { S3Client } from '@aws-sdk/client-s3';", value: 'new S3Client({})' },
  presignedPost: { imports: "import { createPresignedPost } from '@aws-sdk/s3-presigned-post';", value: 'createPresignedPost' },
  requestPresigner: { imports: "import { getSignedUrl } from '@aws-sdk/s3-request-presigner';", value: 'getSignedUrl' },
  multipartUpload: { imports: "import { Upload } from '@aws-sdk/lib-storage';", value: 'Upload' },
  sqs: { imports: "import { SQSClient } from '@aws-sdk/client-sqs';", value: 'new SQSClient({})' },
  secretsManager: {
    imports: "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';",
    value: 'new SecretsManagerClient({})',
  },
  ses: { imports: "import { SESv2Client } from '@aws-sdk/client-sesv2';", value: 'new SESv2Client({})' },
  managementApi: {
    imports: "import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';",
    value: 'new ApiGatewayManagementApiClient({})',
  },
  mimeComposer: { imports: "import MailComposer from 'nodemailer/lib/mail-composer';", value: 'MailComposer' },
} satisfies Record<string, Piece>;

type PieceName = keyof typeof PIECES;

/** What each function's wiring calls (the table above). */
export const FLOORS: Record<string, readonly PieceName[]> = {
  intake: ['dynamodb', 's3', 'presignedPost', 'sqs', 'secretsManager', 'managementApi'],
  actions: ['dynamodb', 's3', 'multipartUpload', 'sqs', 'secretsManager', 'managementApi'],
  proxy: ['dynamodb', 's3', 'requestPresigner', 'secretsManager'],
  agent: ['dynamodb', 's3', 'presignedPost', 'sqs', 'secretsManager', 'managementApi'],
  mailer: ['dynamodb', 's3', 'ses', 'secretsManager', 'mimeComposer'],
  expiry: ['dynamodb', 's3'],
  socket: ['dynamodb'],
  'socket-authorizer': ['secretsManager'],
  'scan-verdict': ['dynamodb', 's3', 'sqs', 'secretsManager', 'managementApi'],
};

/** The floor module of `fn`: its imports, each client constructed once, a trivial `handler`. */
export function floorSource(fn: string): string {
  const pieces = FLOORS[fn];
  if (!pieces) throw new Error(`no floor defined for function "${fn}" (bench/floors.ts)`);
  const chosen = pieces.map((name) => PIECES[name]);
  return [
    ...chosen.map((p) => p.imports),
    '',
    `const deps = [${chosen.map((p) => p.value).join(', ')}];`,
    'export const handler = async () => ({ statusCode: 200, body: String(deps.length) });',
    '',
  ].join('\n');
}
