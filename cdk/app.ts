import { App } from 'aws-cdk-lib';
import { applyNagPacks } from './nag';
import { SatchelStack } from './satchel-stack';
import { readSettings, stackIdFor } from './settings';

// Environment-agnostic: `npx cdk synth` needs no account or region; `cdk deploy` uses the
// CLI's credentials and region.
// `-c stage=NAME` deploys a separate stack, `Satchel-NAME`, whose resources and bot secrets
// (`satchel/NAME/...`) do not collide with another stage's in the same account.
const app = new App();
const { stage } = readSettings(app);
new SatchelStack(app, stackIdFor(stage), {
  description: `Satchel: serverless chatbot attachments service${stage ? ` (stage ${stage})` : ''}`,
});
applyNagPacks(app);
app.synth();
