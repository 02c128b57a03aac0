// Parse a Mermaid diagram from standard input with Mermaid's own parser; exit 0 if it parses, 1 if not.
// Mermaid sanitizes labels with DOMPurify, which needs a DOM: linkedom provides one without a browser.
import { parseHTML } from 'linkedom';

const { window } = parseHTML('<!doctype html><html><body></body></html>');
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import('mermaid');

let text = '';
for await (const chunk of process.stdin) text += chunk;
try {
  const result = await mermaid.parse(text);
  process.stdout.write(JSON.stringify(result) + '\n');
} catch (error) {
  process.stderr.write(String(error && error.message ? error.message : error) + '\n');
  process.exit(1);
}
