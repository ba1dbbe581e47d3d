/**
 * Child of azureSdks.test.ts, run under `wits exec`: the `openai` SDK's AzureOpenAI client with
 * getBearerTokenProvider(new WitsCredential(), scope) against the stand-in at STANDIN_URL.
 */
import { getBearerTokenProvider } from '@azure/identity';
import { AzureOpenAI } from 'openai';
import { WitsCredential } from '../../../src/client/index.js';

const client = new AzureOpenAI({
  endpoint: process.env.STANDIN_URL,
  apiVersion: '2024-10-21',
  deployment: 'gpt-4o-mini',
  azureADTokenProvider: getBearerTokenProvider(new WitsCredential(), 'https://cognitiveservices.azure.com/.default'),
  maxRetries: 0,
});
const replies: string[] = [];
for (let i = 0; i < 2; i++) {
  const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }] });
  replies.push(completion.choices[0]?.message.content ?? '');
}
console.log(JSON.stringify({ replies }));
