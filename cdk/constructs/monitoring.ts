import { Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface MonitoringProps {
  /** Subscribed to the alarm topic by email (`-c alarmEmail=…`); it must confirm the subscription. */
  readonly alarmEmail?: string;
}

/** Thresholds, in one place (docs/deploy.md, "Alarms"). */
export const ALARM_THRESHOLDS = {
  /** Percent of HTTP API requests answered 5xx (or WebSocket messages failing) in 5 minutes. */
  apiErrorRatePercent: 5,
  /** Below this many requests in 5 minutes the rate is not judged (one failure of three is noise). */
  apiMinimumRequests: 20,
  /** Stream records older than this when expiry reads them: expiry is stuck or failing. */
  iteratorAge: Duration.minutes(15),
  /** SES account reputation (AWS reviews an account at 5 % bounces and 0.1 % complaints). */
  sesBounceRate: 0.05,
  sesComplaintRate: 0.001,
} as const;

const FIVE_MINUTES = Duration.minutes(5);

/**
 * Alarms that need a human, all publishing to one topic (optionally with an email
 * subscriber), and one CloudWatch dashboard showing the same signals. Notifications carry
 * resource names only, never user data.
 */
export class Monitoring extends Construct {
  readonly alarmTopic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps = {}) {
    super(scope, id);
    this.alarmTopic = new Topic(this, 'AlarmTopic', { displayName: 'Satchel alarms', enforceSSL: true });
    if (props.alarmEmail) {
      const subscription = this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'The alarm email subscription carries alarm state changes only; one SNS could not deliver (a full mailbox) would sit in a ' +
          'dead-letter queue nobody reads, while the alarm itself stays in ALARM on the dashboard and in the CloudWatch console.',
      });
    }
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${Stack.of(this).stackName}\nAlarms publish to the stack's AlarmTopicArn output; docs/deploy.md lists what each means.`,
        width: 24,
        height: 2,
      }),
    );
  }

  private alarm(id: string, props: { description: string; metric: IMetric; threshold: number; comparison?: ComparisonOperator; evaluationPeriods?: number }): Alarm {
    const alarm = new Alarm(this, id, {
      alarmDescription: props.description,
      metric: props.metric,
      threshold: props.threshold,
      comparisonOperator: props.comparison ?? ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: props.evaluationPeriods ?? 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.alarmTopic));
    this.alarms.push(alarm);
    return alarm;
  }

  /** Alarms as soon as anything lands in a dead-letter queue: every message there is lost work. */
  alarmWhenNotEmpty(id: string, queue: IQueue, description: string): Alarm {
    const metric = queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' });
    this.dashboard.addWidgets(new GraphWidget({ title: `${id}: messages`, left: [metric], width: 6 }));
    return this.alarm(id, { description, metric, threshold: 0 });
  }

  /** A queue whose oldest message waits longer than `maxAge`: its consumer is failing, throttled or stopped. */
  alarmOnQueueAge(id: string, queue: IQueue, maxAge: Duration, what: string): Alarm {
    const metric = queue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: 'Maximum' });
    this.dashboard.addWidgets(new GraphWidget({ title: `${id}: oldest message (s)`, left: [metric], width: 6 }));
    return this.alarm(id, {
      description: `The oldest ${what} has waited more than ${maxAge.toSeconds()} s: its consumer is failing, throttled or stopped.`,
      metric,
      threshold: maxAge.toSeconds(),
    });
  }

  /**
   * A bot secret missing or unreadable where a function used it (`BotSecretUnavailable`, from
   * shared/metrics.ts, one per use with the bot as a dimension): that bot's Send Attachment takes
   * its onError path, its webhooks are refused or its replies wait. One alarm per ten bots (an
   * alarm's metric math takes at most ten metrics); the log line names the secret.
   */
  alarmOnBotSecrets(botIds: readonly string[]): void {
    for (let i = 0; i < botIds.length; i += 10) {
      const chunk = botIds.slice(i, i + 10);
      const usingMetrics = Object.fromEntries(
        chunk.map((bot, j) => [
          `b${j}`,
          new Metric({ namespace: 'Satchel', metricName: 'BotSecretUnavailable', dimensionsMap: { service: 'satchel', bot }, period: FIVE_MINUTES, statistic: 'Sum' }),
        ]),
      );
      const metric = new MathExpression({ expression: Object.keys(usingMetrics).join(' + '), usingMetrics, period: FIVE_MINUTES, label: 'bot secret unavailable' });
      this.dashboard.addWidgets(new GraphWidget({ title: `Bot secrets unavailable (${chunk.join(', ')})`, left: [metric], width: 6 }));
      this.alarm(`BotSecretUnavailable${i / 10 + 1}`, {
        description: `A bot secret was missing or unreadable (bots ${chunk.join(', ')}): that bot fails alone. Search the function logs for "bot secret unavailable".`,
        metric,
        threshold: 0,
      });
    }
  }

  /** An alarm on any metric (to the alarm topic); used by constructs with their own signals (malware-scan.ts). */
  alarmOnMetric(id: string, props: { description: string; metric: IMetric; threshold: number; comparison?: ComparisonOperator }): Alarm {
    return this.alarm(id, props);
  }

  /** Errors and throttles of one function (any in 5 minutes), and its graphs. */
  watchFunction(name: string, fn: IFunction): void {
    const errors = fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' });
    const throttles = fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' });
    this.alarm(`${name}Errors`, { description: `The ${name} function failed (errors or timeouts) in the last 5 minutes; see its log group.`, metric: errors, threshold: 0 });
    this.alarm(`${name}Throttles`, {
      description: `The ${name} function was throttled in the last 5 minutes: the account or function concurrency limit was reached.`,
      metric: throttles,
      threshold: 0,
    });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: `${name}: invocations, errors, throttles`,
        left: [fn.metricInvocations({ period: FIVE_MINUTES }), errors, throttles],
        right: [fn.metricDuration({ period: FIVE_MINUTES, statistic: 'Maximum' })],
        width: 6,
      }),
    );
  }

  /** The stream consumer falling behind (Lambda `IteratorAge`, maximum). */
  alarmOnIteratorAge(id: string, fn: IFunction): Alarm {
    const metric = fn.metric('IteratorAge', { period: FIVE_MINUTES, statistic: 'Maximum' });
    this.dashboard.addWidgets(new GraphWidget({ title: `${id}: stream iterator age (ms)`, left: [metric], width: 6 }));
    return this.alarm(id, {
      description: `Session deletions wait more than ${ALARM_THRESHOLDS.iteratorAge.toMinutes()} minutes on the table stream: expiry is failing or throttled.`,
      metric,
      threshold: ALARM_THRESHOLDS.iteratorAge.toMilliseconds(),
    });
  }

  /** Percent of `errors` over `requests` in 5 minutes, judged only with enough traffic. */
  alarmOnErrorRate(id: string, errors: IMetric, requests: IMetric, what: string): Alarm {
    const rate = new MathExpression({
      label: `${what} error rate (%)`,
      expression: `IF(requests >= ${ALARM_THRESHOLDS.apiMinimumRequests}, 100 * errors / requests, 0)`,
      usingMetrics: { errors, requests },
      period: FIVE_MINUTES,
    });
    this.dashboard.addWidgets(new GraphWidget({ title: `${id}: ${what}`, left: [requests, errors], right: [rate], width: 6 }));
    return this.alarm(id, {
      description: `More than ${ALARM_THRESHOLDS.apiErrorRatePercent} % of ${what} failed in 5 minutes (with at least ${ALARM_THRESHOLDS.apiMinimumRequests}).`,
      metric: rate,
      threshold: ALARM_THRESHOLDS.apiErrorRatePercent,
    });
  }

  /**
   * SES: bounces and complaints of Satchel's configuration set (any one means a bot's
   * `recipientEmail` is wrong or the team marked an email as spam), and the account's
   * reputation rates, which SES acts on.
   */
  watchSes(configurationSetName: string): void {
    const setMetric = (metricName: string) =>
      new Metric({ namespace: 'AWS/SES', metricName, dimensionsMap: { 'ses:configuration-set': configurationSetName }, period: Duration.hours(1), statistic: 'Sum' });
    const bounces = setMetric('Bounce');
    const complaints = setMetric('Complaint');
    this.alarm('SesBounces', { description: 'An attachment email bounced: check the bots\' attachments.recipientEmail addresses.', metric: bounces, threshold: 0 });
    this.alarm('SesComplaints', { description: 'A recipient marked an attachment email as spam.', metric: complaints, threshold: 0 });
    const reputation = (metricName: string) => new Metric({ namespace: 'AWS/SES', metricName, period: Duration.hours(1), statistic: 'Maximum' });
    const bounceRate = reputation('Reputation.BounceRate');
    const complaintRate = reputation('Reputation.ComplaintRate');
    this.alarm('SesBounceRate', {
      description: `The account's SES bounce rate is above ${ALARM_THRESHOLDS.sesBounceRate * 100} %: SES reviews (and may pause) sending at this level.`,
      metric: bounceRate,
      threshold: ALARM_THRESHOLDS.sesBounceRate,
    });
    this.alarm('SesComplaintRate', {
      description: `The account's SES complaint rate is above ${ALARM_THRESHOLDS.sesComplaintRate * 100} %: SES reviews (and may pause) sending at this level.`,
      metric: complaintRate,
      threshold: ALARM_THRESHOLDS.sesComplaintRate,
    });
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'SES: sends, deliveries, bounces, complaints', left: [setMetric('Send'), setMetric('Delivery'), bounces, complaints], width: 6 }),
      new GraphWidget({ title: 'SES: account reputation', left: [bounceRate, complaintRate], width: 6 }),
    );
  }

  /** The alarms' states at the top of the dashboard's end; call once every alarm exists. */
  addAlarmOverview(): void {
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: Math.max(3, Math.ceil(this.alarms.length / 4) + 1) }));
  }
}
