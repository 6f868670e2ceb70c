/**
 * What every e-mail shares (docs/data.md, "E-mails"): the HTML document around a message's body
 * with the shop's name on top, and the shop's name and address at the foot of both parts. HTML is built with the
 * `html` tag, which escapes every value it is given unless the value is itself `html` (a
 * fragment built the same way): a name such as `<script>` cannot become markup by being forgotten.
 */
import { escapeHtml, type MailContext } from './templates.js';

/** A piece of HTML whose values were escaped when it was built. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type HtmlValue = SafeHtml | string | number | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(v);
}

/** `html\`<p>${name}</p>\``: the values escaped, nested `html` fragments (and arrays of them) kept. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return new SafeHtml(out);
}

/** The whole HTML part: a plain, narrow page that mail clients show the same way. */
export function htmlPage(ctx: MailContext, title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
</head>
<body style="margin:0;padding:0;background:#f4f4f4;">
<div style="max-width:600px;margin:0 auto;padding:24px;background:#ffffff;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#222222;">
<p style="margin:0 0 24px;font-size:20px;font-weight:bold;">${ctx.storeName}</p>
${body}
<p style="margin:32px 0 0;padding-top:16px;border-top:1px solid #dddddd;font-size:13px;color:#666666;">${ctx.storeName} · <a href="${ctx.storeUrl}" style="color:#666666;">${ctx.storeUrl}</a></p>
</div>
</body>
</html>
`.value;
}

const TEXT_WIDTH = 72;

/** A one-line paragraph wrapped at word boundaries; text with line breaks (a table) is kept. */
function wrap(paragraph: string): string {
  if (paragraph.includes('\n') || paragraph.length <= TEXT_WIDTH) return paragraph;
  const lines: string[] = [];
  let line = '';
  for (const word of paragraph.split(' ')) {
    if (line && line.length + 1 + word.length > TEXT_WIDTH) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

/** The whole text part: the body's paragraphs (wrapped for plain-text readers), then the signature. */
export function textPage(ctx: MailContext, paragraphs: string[]): string {
  return `${[...paragraphs.map(wrap), `${ctx.storeName}\n${ctx.storeUrl}`].join('\n\n')}\n`;
}
