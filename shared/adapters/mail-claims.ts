import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ClaimOutcome, MailClaims } from '../app/ports';
import { mailSk, sessionPk } from './table-layout';

/**
 * SESSION#<id> / MAIL#<attachmentId>: `state` claimed → sending → sent, `claimId` of the
 * attempt holding it, `leaseUntil` (epoch ms) after which another attempt may take it over.
 * Under the session's partition, so session expiry deletes it. It also carries the TTL
 * attribute as a backstop for the rare record written after expiry already ran: longer than
 * SQS can keep a job (14 days), so the record outlives every retry of its job.
 */
const BACKSTOP_TTL_SECONDS = 15 * 86400;

export class DynamoMailClaims implements MailClaims {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  private key(sessionId: string, attachmentId: string) {
    return { pk: sessionPk(sessionId), sk: mailSk(attachmentId) };
  }

  async claim(sessionId: string, attachmentId: string, now: number, leaseMs: number): Promise<ClaimOutcome> {
    const claimId = randomUUID();
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(sessionId, attachmentId),
          UpdateExpression:
            'SET #state = :claimed, claimId = :id, leaseUntil = :until, attempts = if_not_exists(attempts, :zero) + :one, expiresAt = :ttl',
          ConditionExpression: 'attribute_not_exists(sk) OR (#state <> :sent AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':claimed': 'claimed',
            ':sent': 'sent',
            ':id': claimId,
            ':until': now + leaseMs,
            ':now': now,
            ':zero': 0,
            ':one': 1,
            ':ttl': Math.ceil(now / 1000) + BACKSTOP_TTL_SECONDS,
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const previous = out.Attributes?.state as 'claimed' | 'sending' | undefined;
      return { kind: 'claimed', claimId, ...(previous && { takenOverFrom: previous }) };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const current = await this.db.send(new GetCommand({ TableName: this.tableName, Key: this.key(sessionId, attachmentId), ConsistentRead: true }));
    if (current.Item?.state === 'sent') return { kind: 'sent' };
    // Held by a live lease, or (if the item vanished meanwhile) the next attempt will see.
    return { kind: 'busy', leaseUntil: Number(current.Item?.leaseUntil ?? now) };
  }

  async markSending(sessionId: string, attachmentId: string, claimId: string, now: number): Promise<boolean> {
    return this.ifHeld(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(sessionId, attachmentId),
        UpdateExpression: 'SET #state = :sending, sendingAt = :now',
        ConditionExpression: 'claimId = :id AND #state = :claimed',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':sending': 'sending', ':claimed': 'claimed', ':id': claimId, ':now': now },
      }),
    );
  }

  async markSent(sessionId: string, attachmentId: string, claimId: string, details: { messageId: string; sentAt: number; linked: boolean }): Promise<void> {
    const held = await this.ifHeld(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(sessionId, attachmentId),
        UpdateExpression: 'SET #state = :sent, messageId = :mid, sentAt = :at, linked = :linked REMOVE leaseUntil',
        ConditionExpression: 'claimId = :id',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':sent': 'sent', ':mid': details.messageId, ':at': details.sentAt, ':linked': details.linked, ':id': claimId },
      }),
    );
    if (!held) throw new Error(`mail claim for attachment ${attachmentId} was taken over before it was marked sent`);
  }

  async release(sessionId: string, attachmentId: string, claimId: string): Promise<void> {
    await this.ifHeld(
      new DeleteCommand({
        TableName: this.tableName,
        Key: this.key(sessionId, attachmentId),
        ConditionExpression: 'claimId = :id AND #state <> :sent',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':id': claimId, ':sent': 'sent' },
      }),
    );
  }

  /** Runs a write conditioned on holding the claim; false when the condition failed. */
  private async ifHeld(command: UpdateCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.db.send(command as UpdateCommand);
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}
