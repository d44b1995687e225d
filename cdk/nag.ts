import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';

/**
 * cdk-nag's AwsSolutions and Serverless packs run as CDK validation plugins: any
 * unacknowledged finding fails `cdk synth`. Acknowledgements (`Validations.of(x).acknowledge`)
 * sit next to the resource they excuse, each with its reason, and are copied into the
 * template metadata (`cdk_nag.rules_to_suppress`) as an audit trail.
 */
export function applyNagPacks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
    new ServerlessChecks(app, { verbose: true }),
  );
}
