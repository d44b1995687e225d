import { App } from 'aws-cdk-lib';
import { applyNagPacks } from './nag';
import { SatchelStack } from './satchel-stack';

// Environment-agnostic: `npx cdk synth` needs no account or region; `cdk deploy` uses the
// CLI's credentials and region.
const app = new App();
new SatchelStack(app, 'Satchel', {
  description: 'Satchel: serverless chatbot attachments service',
});
applyNagPacks(app);
app.synth();
