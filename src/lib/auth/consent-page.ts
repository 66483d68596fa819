/** The consent page shown before kmcp sends the browser to the identity provider. */

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]!)
}

export function consentPage(details: {clientName: string; clientId: string; redirectUri: string; scopes: string[]; txn: string; csrf: string; serverUrl: string}): string {
  const redirect = new URL(details.redirectUri)
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(redirect.hostname)
  const e = escapeHtml
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Allow ${e(details.clientName)} to use kmcp?</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
code{background:#f2f2f2;padding:0 .25rem}.warn{color:#8a4b00}button{font-size:1rem;padding:.5rem 1.25rem;margin-right:.75rem}</style></head>
<body>
<h1>Allow <em>${e(details.clientName)}</em> to manage PostgreSQL clusters?</h1>
<p>An application asks to use <strong>${e(details.serverUrl)}</strong> (kmcp) on your behalf. With your permission it can call kmcp's tools with your identity.</p>
<ul>
<li>Application: <strong>${e(details.clientName)}</strong> (client id <code>${e(details.clientId)}</code>)</li>
<li>It will receive the result at: <strong>${e(redirect.host)}</strong> <code>${e(details.redirectUri)}</code></li>
<li>Permissions: ${details.scopes.map((s) => `<code>${e(s)}</code>`).join(' ')}</li>
</ul>
${loopback ? '<p class="warn">The result goes to a program on this computer (a loopback address). Approve only if you started that program yourself.</p>' : ''}
<p>If you did not start this sign-in, choose Deny.</p>
<form method="post" action="/consent">
<input type="hidden" name="txn" value="${e(details.txn)}">
<input type="hidden" name="csrf" value="${e(details.csrf)}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>`
}

export function errorPage(title: string, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body style="font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`
}
