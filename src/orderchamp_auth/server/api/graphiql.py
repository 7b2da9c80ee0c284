"""The GraphiQL page served at ``GET {api}/graphql``: paste a token, explore the schema.

Assets are served from the platform's own static files (no CDN: it must work offline). The
token is kept in the tab's sessionStorage only and sent as ``Authorization: Bearer``.
"""

from __future__ import annotations

import json

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Orderchamp GraphQL API</title>
  <link rel="stylesheet" href="/static/vendor/graphiql/graphiql.min.css">
  <style>
    html, body { height: 100%; margin: 0; font-family: system-ui, sans-serif; }
    body { display: flex; flex-direction: column; }
    .tokenbar { display: flex; gap: 10px; align-items: center; padding: 8px 12px; background: #0b6b5d; color: #fff; flex-wrap: wrap; }
    .tokenbar strong { margin-right: 8px; }
    .tokenbar label { font-weight: 600; }
    .tokenbar input { flex: 1; min-width: 240px; padding: 6px 8px; border-radius: 4px; border: 0; font-family: ui-monospace, monospace; }
    .tokenbar small { opacity: .85; }
    #graphiql { flex: 1; min-height: 0; }
  </style>
</head>
<body>
  <div class="tokenbar">
    <strong>Orderchamp API</strong>
    <label for="token">Access token</label>
    <input id="token" type="password" autocomplete="off" placeholder="ocp_… or oca_…">
    <small>Sent as Authorization: Bearer; kept in this tab only.</small>
  </div>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/static/vendor/graphiql/react.production.min.js"></script>
  <script src="/static/vendor/graphiql/react-dom.production.min.js"></script>
  <script src="/static/vendor/graphiql/graphiql.min.js"></script>
  <script>
    (function () {
      var endpoint = __ENDPOINT__;
      var input = document.getElementById("token");
      input.value = sessionStorage.getItem("orderchamp-token") || "";
      input.addEventListener("input", function () { sessionStorage.setItem("orderchamp-token", input.value.trim()); });
      var NO_TOKEN = {errors: [{message: "Paste an access token above first: the API answers only with one.",
                                extensions: {code: "UNAUTHENTICATED"}}]};
      function fetcher(params) {
        var token = input.value.trim();
        // Without a token nothing is sent: GraphiQL's own schema request would only be refused.
        if (!token) { return Promise.resolve(NO_TOKEN); }
        var headers = {"Content-Type": "application/json", "Accept": "application/json",
                       "Authorization": "Bearer " + token};
        return fetch(endpoint, {method: "POST", headers: headers, body: JSON.stringify(params)})
          .then(function (response) { return response.json(); });
      }
      var root = ReactDOM.createRoot(document.getElementById("graphiql"));
      var mounted = 0;
      function render() {
        mounted += 1;
        root.render(React.createElement(GraphiQL, {
          key: "graphiql-" + mounted,
          fetcher: fetcher,
          defaultQuery: "# Paste a token above, then run this query (Ctrl-Enter).\\n{\\n  account {\\n    name\\n    type\\n    slug\\n  }\\n  products(first: 5) {\\n    nodes { id title variants(first: 3) { nodes { sku price } } }\\n  }\\n}\\n",
        }));
      }
      // GraphiQL loads the schema when it mounts; mounted before a token was there, it is mounted
      // again once, when the first token is pasted, so Docs and completion work without a click.
      var hadToken = Boolean(input.value.trim());
      input.addEventListener("input", function () {
        if (!hadToken && input.value.trim()) { hadToken = true; render(); }
      });
      render();
      if (!input.value) { input.focus(); }
    })();
  </script>
</body>
</html>
"""


def graphiql_page(endpoint: str) -> str:
    return _PAGE.replace("__ENDPOINT__", json.dumps(endpoint))
