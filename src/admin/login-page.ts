// GET /login: the one place a browser gives the admin token — in a POST body, once; a session cookie does the rest.

export function loginPage(failed: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>infergate sign in</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:48px auto;max-width:360px}input{font:inherit;padding:6px;width:100%;box-sizing:border-box;margin:6px 0}.err{color:#8e1b16}</style>
</head><body><h1>infergate admin</h1>
${failed ? '<p class="err">That token is not the admin token.</p>\n' : ''}<form method="post" action="/login">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<input type="submit" value="Sign in">
</form>
<p>The token is checked once; the browser then keeps an HttpOnly session cookie for this listener.</p>
</body></html>
`;
}
